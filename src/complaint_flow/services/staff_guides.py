"""Staff guides by rank: the escalation routine customised for one rank (mission M14).

Every employee who may meet a customer is given the escalation routine for their
rank: whom to escalate to, when, for which kinds of complaint (emergencies
included), with the contacts and guidelines — and what they may do and grant
themselves. :func:`staff_guide` builds that :class:`Guide` from a workflow's
definition: its escalation ladders (by category and severity, levels with ranks,
contacts, placeholder contacts flagged), its deadline clocks, its routing rules,
the steps its roles allow and the remedies each level may grant.
:meth:`Guide.to_markdown` writes it as plain text that reads as Markdown
(``docs/staff-guides.md``); ``complaint-flow guide --rank agent`` prints it.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from complaint_flow import arguments
from complaint_flow.definitions.deadlines import STARTS_ON_RECEIPT, ClockDefinition
from complaint_flow.definitions.escalation import EscalationLadder, EscalationLevel, Routing
from complaint_flow.definitions.remedies import RemedyKind
from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.errors import InvalidArgumentError
from complaint_flow.kernel.unit_of_work import HasKernel, Kernel, as_kernel
from complaint_flow.model.entities import Actor, Severity


@attrs.frozen
class LadderGuide:
    """One escalation ladder as it concerns the rank.

    Args:
        ladder: the ladder.
        applies_to: which complaints it is for, in words.
        level: the rank's own level on it (None: the rank holds none).
        escalate_to: the level to escalate to (None at the top).
        emergency: the level emergencies go straight to.
        above: every level above the rank's, in order (who decides what it cannot).
    """

    ladder: EscalationLadder
    applies_to: str
    level: EscalationLevel | None
    escalate_to: EscalationLevel | None
    emergency: EscalationLevel
    above: tuple[EscalationLevel, ...]

    @property
    def authority(self) -> str:
        """What the rank may grant on this ladder, in words."""
        if self.level is None:
            return "may grant no monetary remedy"
        return self.level.describe_authority(self.ladder.currency)


@attrs.frozen
class StepGuide:
    """A step of the workflow the rank may take."""

    trigger: str
    description: str
    sources: tuple[str, ...]
    dest: str
    requires: tuple[str, ...] = ()
    notify: tuple[str, ...] = ()


@attrs.frozen
class DeadlineGuide:
    """A deadline clock of the workflow, as staff must know it."""

    name: str
    title: str
    within: str
    starts: str
    warning: str
    if_missed: str
    description: str = ""


@attrs.frozen
class Guide:
    """The escalation routine and powers of one rank in one workflow.

    Build it with :func:`staff_guide`; write it with :meth:`to_markdown`.
    """

    workflow: str
    workflow_title: str
    rank: int
    role: str
    ladders: tuple[LadderGuide, ...]
    steps: tuple[StepGuide, ...]
    deadlines: tuple[DeadlineGuide, ...]
    routing: tuple[Routing, ...]
    written_request_from: int | None = None
    free_remedies: tuple[str, ...] = ()
    monetary_remedies: tuple[str, ...] = ()

    @property
    def placeholders(self) -> tuple[EscalationLevel, ...]:
        """Levels shown whose contact is a placeholder to replace before real use."""
        seen: dict[tuple[str, int], EscalationLevel] = {}
        for guide in self.ladders:
            for level in (guide.level, guide.escalate_to, guide.emergency, *guide.above):
                if level is not None and level.placeholder:
                    seen[(guide.ladder.name, level.number)] = level
        return tuple(seen.values())

    def to_markdown(self) -> str:
        """The guide as Markdown (also plain text to read as it is)."""
        return "\n".join(_markdown(self)).rstrip() + "\n"


# -- building a guide -------------------------------------------------------------------


def staff_guide(
    owner: HasKernel | Kernel,
    rank: int | str,
    workflow: str | WorkflowDefinition | None = None,
) -> Guide:
    """The staff guide for ``rank`` in ``workflow``.

    Args:
        owner: the engine (or its kernel).
        rank: a rank number (1 = frontline) or a role name of the workflow (``"agent"``;
            its rank is the lowest rank of a level with that role, default ladder first).
        workflow: a registered workflow's name or a definition (default: the engine's
            default workflow).

    Raises:
        InvalidArgumentError: a rank below every level, a role the ladders do not
            have, a numeric rank for a workflow without a ladder, or no workflow named
            when ``owner`` is a bare kernel.
        UnknownWorkflowError: no workflow of that name.
    """
    kernel = as_kernel(owner)
    if isinstance(workflow, WorkflowDefinition):
        definition = workflow
    else:
        name = arguments.optional_name("workflow", workflow)
        if name is None:
            name = getattr(owner, "default_workflow", None)
        if not isinstance(name, str):
            raise InvalidArgumentError(
                "workflow: name the workflow (e.g. 'tactics'); a kernel has no default one"
            )
        definition = kernel.workflow(name).definition
    return guide_for(definition, rank)


def guide_for(definition: WorkflowDefinition, rank: int | str) -> Guide:
    """The staff guide for ``rank`` in ``definition`` (see :func:`staff_guide`)."""
    number, role = _rank_and_role(definition, rank)
    actor = Actor(id="staff-guide", name=role, role=role, rank=number)
    policy = definition.escalation
    ladders = tuple(_ladder_guide(ladder, actor) for ladder in policy.ladders) if policy else ()
    return Guide(
        workflow=definition.name,
        workflow_title=definition.title or definition.name,
        rank=number,
        role=role,
        ladders=ladders,
        steps=_steps(definition, role),
        deadlines=tuple(_deadline(clock, definition) for clock in definition.clocks),
        routing=policy.routing if policy else (),
        written_request_from=policy.written_request_from if policy else None,
        free_remedies=tuple(_label(kind) for kind in RemedyKind if not kind.is_monetary),
        monetary_remedies=tuple(_label(kind) for kind in RemedyKind if kind.is_monetary),
    )


def _label(kind: RemedyKind) -> str:
    return kind.value.replace("_", " ")


def _levels(definition: WorkflowDefinition) -> list[EscalationLevel]:
    """Every level, default ladder first."""
    policy = definition.escalation
    if policy is None:
        return []
    default = policy.default_ladder
    others = [ladder for ladder in policy.ladders if ladder is not default]
    return [level for ladder in (default, *others) for level in ladder.levels]


def _rank_and_role(definition: WorkflowDefinition, rank: object) -> tuple[int, str]:
    levels = _levels(definition)
    known = ", ".join(
        dict.fromkeys(f"{level.role} (rank {level.rank})" for level in levels)
    ) or ", ".join(definition.roles)
    if isinstance(rank, str) and rank.strip().isdigit():
        rank = int(rank.strip())
    if isinstance(rank, str):
        role = arguments.name("rank", rank)
        ranks = [level.rank for level in levels if level.role == role]
        if ranks:
            return ranks[0], role
        if not levels and role in definition.roles:
            return 1, role
        raise InvalidArgumentError(
            f"rank: workflow {definition.name!r} has no role {role!r} on its escalation "
            f"ladders; give one of {known}, or a rank number"
        )
    number = arguments.whole_number("rank", rank, minimum=1)
    if definition.escalation is None:
        raise InvalidArgumentError(
            f"rank: workflow {definition.name!r} has no escalation ladder to say what rank "
            f"{number} is; give a role instead: {known or 'none declared'}"
        )
    below = [level for level in definition.escalation.default_ladder.levels if level.rank <= number]
    if not below:
        raise InvalidArgumentError(
            f"rank: {number} is below every level of workflow {definition.name!r}'s ladder; "
            f"its ranks: {known}"
        )
    return number, below[-1].role


def _scope(ladder: EscalationLadder) -> str:
    if not ladder.categories and not ladder.severities:
        return "every complaint no other ladder takes"
    parts = []
    if ladder.categories:
        parts.append("category " + ", ".join(ladder.categories))
    if ladder.severities:
        parts.append("severity " + ", ".join(severity.value for severity in ladder.severities))
    return "complaints of " + " and ".join(parts)


def _ladder_guide(ladder: EscalationLadder, actor: Actor) -> LadderGuide:
    level = ladder.level_for(actor)
    if level is None:
        escalate_to: EscalationLevel | None = ladder.levels[0]
        above = ladder.levels
    else:
        above = tuple(candidate for candidate in ladder.levels if candidate.number > level.number)
        escalate_to = above[0] if above else None
    return LadderGuide(
        ladder=ladder,
        applies_to=_scope(ladder),
        level=level,
        escalate_to=escalate_to,
        emergency=ladder.emergency_level,
        above=above,
    )


def _steps(definition: WorkflowDefinition, role: str) -> tuple[StepGuide, ...]:
    allowed: dict[str, StepGuide] = {}
    for transition in definition.transitions:
        if transition.roles and role not in transition.roles:
            continue
        known = allowed.get(transition.trigger)
        if known is None:
            allowed[transition.trigger] = StepGuide(
                trigger=transition.trigger,
                description=transition.description,
                sources=transition.sources,
                dest=transition.dest,
                requires=transition.requires,
                notify=transition.notify,
            )
        else:
            sources = tuple(dict.fromkeys((*known.sources, *transition.sources)))
            allowed[transition.trigger] = attrs.evolve(known, sources=sources)
    return tuple(allowed.values())


def _deadline(clock: ClockDefinition, definition: WorkflowDefinition) -> DeadlineGuide:
    starts = [
        "when the complaint is received" if start == STARTS_ON_RECEIPT else f"on {start!r}"
        for start in clock.starts_on
    ]
    stops = [f"{stop!r}" for stop in clock.stops_on]
    ends = "ends with " + (", ".join(stops) + " or " if stops else "") + "the end of handling"
    missed = []
    if "notify" in clock.on_breach:
        missed.append("the owner is told")
    if "escalate" in clock.on_breach:
        missed.append("the complaint escalates one level by itself")
    pauses = f"; paused while {', '.join(clock.pause_states)}" if clock.pause_states else ""
    try:
        calendar = definition.calendar(clock.calendar).name
    except KeyError:
        calendar = clock.calendar
    return DeadlineGuide(
        name=clock.name,
        title=clock.title or clock.name,
        within=f"{clock.duration} ({calendar} calendar)",
        starts=f"starts {' or '.join(starts)}; {ends}{pauses}",
        warning=f"{clock.warn_before} before" if clock.warn_before else "none",
        if_missed=" and ".join(missed) or "recorded",
        description=" ".join(clock.description.split()),
    )


# -- writing it ----------------------------------------------------------------------------


def level_line(level: EscalationLevel) -> str:
    """A level in one line: number, title, role and rank, contact (placeholders flagged)."""
    contact = level.contact or "no contact"
    if level.placeholder:
        contact += " (placeholder contact: replace it before real use)"
    return f"level {level.number}, {level.title} ({level.role}, rank {level.rank}): {contact}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def cells(values: Sequence[str]) -> str:
        return "| " + " | ".join(value.replace("|", "\\|") for value in values) + " |"

    return [cells(header), cells(["---"] * len(header)), *(cells(row) for row in rows)]


def _markdown(guide: Guide) -> list[str]:
    lines = [
        f"# Staff guide: {guide.role}, rank {guide.rank}",
        "",
        f"Workflow: {guide.workflow_title} (`{guide.workflow}`).",
        "",
        "## Whom to escalate to",
        "",
    ]
    if not guide.ladders:
        lines += ["This workflow has no escalation ladder.", ""]
    for ladder in guide.ladders:
        lines += [f"### {ladder.applies_to.capitalize()} (ladder `{ladder.ladder.name}`)", ""]
        if ladder.level is None:
            lines.append("You hold no level on this ladder.")
        else:
            lines.append(f"You are at {level_line(ladder.level)}.")
            if ladder.level.guidelines:
                lines.append(f"Your guidelines: {' '.join(ladder.level.guidelines.split())}")
        lines.append("")
        if ladder.escalate_to is not None:
            lines.append(f"- Escalate to {level_line(ladder.escalate_to)}.")
            if ladder.escalate_to.guidelines:
                guidelines = " ".join(ladder.escalate_to.guidelines.split())
                lines.append(f"  Their guidelines: {guidelines}")
        else:
            lines.append(
                "- You are at the top of this ladder: nobody inside the organisation is above "
                "you. Send the final response and tell the customer where to take the "
                "complaint next (the ombudsman or dispute resolution scheme)."
            )
        emergency = Severity.EMERGENCY.value
        if ladder.level is not None and ladder.emergency.number == ladder.level.number:
            lines.append(f"- Emergencies (severity {emergency}) come to you, at once.")
        elif ladder.level is not None and ladder.emergency.number < ladder.level.number:
            lines.append(
                f"- Emergencies (severity {emergency}) go straight to "
                f"{level_line(ladder.emergency)}; they reach you when escalated further."
            )
        else:
            lines.append(
                f"- Emergencies (severity {emergency}) go straight to "
                f"{level_line(ladder.emergency)}, at once."
            )
        lines.append("")
    if guide.written_request_from is not None:
        lines += [
            f"A customer's request to escalate to level {guide.written_request_from} or above "
            "counts only when made in writing.",
            "",
        ]
    lines += ["## When", ""]
    if guide.deadlines:
        lines += _table(
            ("Deadline", "Within", "Runs", "Warning", "If missed"),
            [(d.title, d.within, d.starts, d.warning, d.if_missed) for d in guide.deadlines],
        )
        lines += [
            "",
            "Escalate earlier when the customer asks for more than you may grant, when you "
            "cannot put it right yourself, or when the complaint is an emergency.",
            "",
        ]
    else:
        lines += ["The workflow sets no deadlines.", ""]
    lines += ["## What you may grant", ""]
    lines.append(f"- Without an amount: {', '.join(guide.free_remedies)}.")
    for ladder in guide.ladders:
        currency = ladder.ladder.currency
        above = "; ".join(
            f"level {level.number} ({level.title}) {level.describe_authority(currency)}"
            for level in ladder.above
        )
        lines.append(
            f"- {', '.join(guide.monetary_remedies).capitalize()} on ladder "
            f"`{ladder.ladder.name}`: you {ladder.authority}"
            + (f"; above that: {above}." if above else ".")
        )
    lines += ["", "## What you may do", ""]
    if guide.steps:
        lines += _table(
            ("Step", "From", "To", "Needs", "Who is told", "What it is"),
            [
                (
                    f"`{step.trigger}`",
                    ", ".join(step.sources),
                    step.dest,
                    ", ".join(step.requires) or "-",
                    ", ".join(step.notify) or "-",
                    step.description,
                )
                for step in guide.steps
            ],
        )
    else:
        lines.append(f"The workflow gives the role {guide.role!r} no steps.")
    if guide.routing:
        lines += ["", "## Where complaints go", ""]
        for rule in guide.routing:
            office = " (the central office)" if rule.central_office else ""
            scope = _routing_scope(rule)
            contact = ", ".join(item for item in (rule.email, rule.phone) if item)
            lines.append(f"- {scope}: {rule.department}{office}, {contact}.")
    placeholders = guide.placeholders
    if placeholders:
        lines += [
            "",
            f"Note: {len(placeholders)} contact(s) above are placeholders shipped with the "
            "workflow: replace them with real ones before the guide is handed out.",
        ]
    return lines


def _routing_scope(rule: Routing) -> str:
    parts = []
    if rule.categories:
        parts.append("category " + ", ".join(rule.categories))
    if rule.severities:
        parts.append("severity " + ", ".join(s.value for s in rule.severities))
    return ("Complaints of " + " and ".join(parts)) if parts else "Every complaint"


__all__ = [
    "DeadlineGuide",
    "Guide",
    "LadderGuide",
    "StepGuide",
    "guide_for",
    "level_line",
    "staff_guide",
]
