"""The exceptions complaint_flow raises on purpose.

Every one derives from :class:`ComplaintFlowError`, so a host application can
catch the library's refusals in one place. Each message says what was wrong and
what to do about it; a rejected call never changes stored data.
"""

from __future__ import annotations

from collections.abc import Iterable


def _choices(names: Iterable[str]) -> str:
    listed = sorted(names)
    return ", ".join(repr(name) for name in listed) if listed else "(none)"


class ComplaintFlowError(Exception):
    """Base class of every error complaint_flow raises on purpose."""


class InvalidArgumentError(ComplaintFlowError, ValueError):
    """An argument to a public call is malformed (wrong type, empty text…)."""


class InvalidIntakeError(InvalidArgumentError):
    """An intake, customer or actor is malformed (missing summary, unknown channel…)."""


class WorkflowDefinitionError(ComplaintFlowError, ValueError):
    """A workflow definition is malformed or inconsistent.

    ``problems`` lists every problem found, so a definition can be fixed in one go.
    """

    def __init__(self, workflow: str, problems: list[str]) -> None:
        self.workflow = workflow
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"workflow {workflow!r} is not valid:\n{lines}")


class UnknownWorkflowError(ComplaintFlowError, LookupError):
    """No workflow of that name is registered."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        super().__init__(
            f"no workflow named {name!r} is registered; known workflows: {_choices(known)}. "
            "Register it with the complaint_flow_register_workflows hook or pass a "
            "WorkflowDefinition."
        )


class ComplaintNotFoundError(ComplaintFlowError, LookupError):
    """No complaint with that id (or reference) is stored."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            f"no complaint {key!r} in this store; check the id or reference "
            "(engine.find() lists stored complaints)"
        )


class TransitionError(ComplaintFlowError):
    """Base class of the refusals of :meth:`Engine.fire`."""


class UnknownTriggerError(TransitionError, LookupError):
    """The workflow has no trigger of that name at all."""

    def __init__(self, workflow: str, trigger: str, known: Iterable[str]) -> None:
        self.workflow = workflow
        self.trigger = trigger
        super().__init__(
            f"workflow {workflow!r} has no trigger {trigger!r}; its triggers are: {_choices(known)}"
        )


class TriggerNotAllowedError(TransitionError):
    """The trigger exists but not from the complaint's current state."""

    def __init__(self, trigger: str, state: str, available: Iterable[str]) -> None:
        self.trigger = trigger
        self.state = state
        self.available = sorted(available)
        super().__init__(
            f"trigger {trigger!r} is not allowed from state {state!r}; from there the "
            f"workflow allows: {_choices(available)}"
        )


class PermissionDeniedError(TransitionError):
    """The actor's role may not fire this trigger."""

    def __init__(self, actor_id: str, role: str, trigger: str, roles: Iterable[str]) -> None:
        self.actor_id = actor_id
        self.role = role
        self.trigger = trigger
        super().__init__(
            f"actor {actor_id!r} has role {role!r}, which may not fire {trigger!r}; "
            f"roles allowed: {_choices(roles)}. Ask someone with one of those roles."
        )


class MissingFieldError(TransitionError):
    """The transition requires information that was not given."""

    def __init__(self, trigger: str, missing: Iterable[str]) -> None:
        self.trigger = trigger
        self.missing = sorted(missing)
        super().__init__(
            f"trigger {trigger!r} requires {_choices(self.missing)}; pass them in "
            f"data={{...}} (or record them earlier on the complaint) and fire again"
        )


class GuardRefusedError(TransitionError):
    """A named guard of the transition refused it (e.g. no owner with contact details)."""

    def __init__(self, trigger: str, guard: str, reason: str) -> None:
        self.trigger = trigger
        self.guard = guard
        super().__init__(f"trigger {trigger!r} refused by guard {guard!r}: {reason}")


class ConcurrencyError(ComplaintFlowError):
    """Someone else changed the complaint since it was read; nothing was written.

    Re-read the complaint (``engine.get``), check the action still makes sense and
    try again.
    """

    def __init__(self, complaint_id: str, expected_version: int) -> None:
        self.complaint_id = complaint_id
        self.expected_version = expected_version
        super().__init__(
            f"complaint {complaint_id!r} is no longer at version {expected_version}: it "
            "was changed concurrently and nothing was written. Re-read it and try again."
        )


class DuplicateIntakeError(ComplaintFlowError):
    """A complaint for the same (channel, external_id) is already stored.

    :meth:`Engine.receive` catches this and returns the stored complaint; stores
    raise it so that two concurrent deliveries of one message make one complaint.
    """

    def __init__(self, channel: str, external_id: str, existing_id: str | None = None) -> None:
        self.channel = channel
        self.external_id = external_id
        self.existing_id = existing_id
        super().__init__(
            f"a complaint received on {channel!r} with external id {external_id!r} is "
            "already stored"
        )


class StoreError(ComplaintFlowError):
    """A store cannot be opened or used."""


class UnknownStoreError(StoreError, LookupError):
    """No store is registered for a URL's scheme, or the URL is malformed."""

    def __init__(self, url: str, schemes: Iterable[str], detail: str = "") -> None:
        self.url = url
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"cannot open store {url!r}{extra}; registered URL schemes: {_choices(schemes)}. "
            "Use e.g. 'memory://' or 'sqlite:///path/to/complaints.db'."
        )


class SchemaVersionError(StoreError):
    """The store's schema was written by another version of complaint_flow."""


class UnknownChannelError(InvalidIntakeError, LookupError):
    """A channel name is not registered."""

    def __init__(self, channel: str, known: Iterable[str]) -> None:
        self.channel = channel
        super().__init__(
            f"unknown channel {channel!r}; registered channels: {_choices(known)}. "
            "Register it with the complaint_flow_register_channels hook."
        )


class ChannelError(ComplaintFlowError):
    """A message could not be sent or received on a channel (a server refused it,
    the connection failed, the channel cannot send). The outbox retries a send that
    raised it, until the message is dead."""


class UnreachableAddressError(ChannelError):
    """The channel refused the address for good (a mail server's 5xx "no such user", an
    SMS gateway's "not a mobile number"). Raised by a channel adapter's ``send``: the
    outbox then keeps the message *unreachable* instead of retrying it, and the address
    is marked undeliverable on the complaint so replies are routed elsewhere."""

    def __init__(self, address: str, detail: str) -> None:
        self.address = address
        super().__init__(f"{address} cannot be reached: {detail}")


class QuarantinedMessageError(ChannelError):
    """An inbound message could not be read as a complaint or an answer to one.

    The message is kept whole in the quarantine with ``reason``; nothing is dropped.
    List and re-process it with ``complaint-flow channels quarantine``.
    """

    def __init__(self, reason: str) -> None:
        # No store can keep a NUL; the reason is stored as it is said here.
        reason = reason.replace("\x00", "\ufffd")
        self.reason = reason
        super().__init__(
            f"{reason}; the message is kept in the quarantine: list it with "
            "`complaint-flow channels quarantine` and re-process it once fixed"
        )


class LetterError(ComplaintFlowError, ValueError):
    """A letter cannot be written: an unknown letter or language, a template error,
    or content the rule pack requires is missing (the message names what)."""


class PluginError(ComplaintFlowError):
    """A plugin registered something inconsistent (a duplicate name, a bad hook)."""


class EscalationError(TransitionError):
    """An escalation cannot be made (e.g. already at the top of the ladder)."""


class AuthorityExceededError(EscalationError):
    """A remedy is above what the actor's rank may grant; escalate to a rank that may decide."""


class ClockError(ComplaintFlowError):
    """A deadline clock cannot be changed that way (unknown clock, earlier extension…)."""


class ConductError(ComplaintFlowError):
    """A stop-procedure step is refused: wrong status, no reason, past review date…

    The customer's conduct record is unchanged.
    """


class NotAuthorisedError(ConductError):
    """The actor's role may not take this stop-procedure decision."""

    def __init__(self, actor_id: str, role: str, decision: str, roles: Iterable[str]) -> None:
        self.actor_id = actor_id
        self.role = role
        self.decision = decision
        self.roles = tuple(sorted(roles))
        super().__init__(
            f"actor {actor_id!r} (role {role!r}) may not {decision}; it needs one of the "
            f"roles {_choices(self.roles)}: ask someone with that role, or change the "
            "conduct policy's roles"
        )


class ConflictOfInterestError(ConductError):
    """An appeal must be decided by someone not involved in the decision appealed."""


class ContactFiledError(ComplaintFlowError):
    """The message was kept, but it did not open a complaint (stop procedure).

    Raised by :meth:`Engine.receive` after the message is safely filed on the
    customer's conduct record and put in the review queue: a restriction applies,
    or it re-raises a matter that has a final decision. ``outcome`` is the
    :class:`~complaint_flow.IntakeOutcome` that :meth:`Engine.accept` returns
    for the same message; use ``accept`` to handle these outcomes without an
    exception.
    """

    def __init__(self, outcome: object, message: str) -> None:
        self.outcome = outcome
        super().__init__(message)


class PlaceholderContactWarning(UserWarning):
    """An escalation went to a ladder level whose contact is only a placeholder.

    The shipped packs' ladders have example contacts (``@example.org``, fictitious
    phone numbers), marked ``placeholder = true``. A warning rather than an error:
    the escalation is recorded and the complaint moves, but its messages would go
    to nobody real. Copy the pack and give the levels real contacts, or answer the
    ``complaint_flow_escalation_target`` hook with the people of your org chart.
    """
