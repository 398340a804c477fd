"""Letters to complainants, written from Jinja2 templates in a sandbox, checked against the rules.

A letter (an acknowledgement, a holding reply, a final response…) is a ``.txt`` template,
with an optional ``.html`` beside it, named for the letter and kept in a directory named
for its language. :class:`Letters` finds the template for a rule pack and a language,
renders it in an immutable :mod:`jinja2.sandbox` (a template reads the letter's values
and nothing else: no names starting with ``_``, no Python internals, no changes to the
values), and refuses a letter that misses content the pack's rules require (an FCA final
response without the Financial Ombudsman Service and its six-month time limit) with a
:class:`RequiredContentError` naming each missing item and the template used.

Where a template is looked for, first found wins (``P`` the pack, ``L`` the language)::

    1. OVERRIDE/packs/P/L/     for each host override directory, in the order given
    2. OVERRIDE/L/             for each host override directory
    3. shipped packs/P/L/      the pack's own templates
    4. shipped L/              the shipped templates of the language
    5. shipped en/             the shipped English templates

A template's ``{% include %}`` is looked for in the same directories (without step 5),
then by its path under each override directory and under the shipped templates
(``{% include "packs/fca/en/_ombudsman.txt" %}``). A template names its subject with
``{% set subject = "..." %}``. Jinja2 is the optional ``letters`` extra.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from complaint_flow import arguments
from complaint_flow.definitions.letter_content import (
    LANGUAGE_TAG,
    LETTER_NAME,
    LetterRequirement,
    RequiredMention,
    requirement_for,
)
from complaint_flow.definitions.packs import load_pack, pack_names
from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.errors import InvalidArgumentError, LetterError, UnknownWorkflowError
from complaint_flow.model.entities import Actor, ClockStatus, Complaint
from complaint_flow.model.immutable import EMPTY, FrozenData, freeze_mapping, thaw

if TYPE_CHECKING:
    import jinja2

T = TypeVar("T")

SHIPPED_LETTERS = (
    "acknowledgement",
    "holding_reply",
    "final_response",
    "summary_resolution",
    "escalation_notice",
    "satisfaction_check",
)
"""The letters shipped for every shipped language."""

FALLBACK_LANGUAGE = "en"
"""The language of the last resort: a letter no template has in the language asked for."""

_MAX_REPEAT = 100_000
"""The longest text or list a template may build with ``*`` (larger is refused, not built)."""

_MAX_EXPONENT = 64

_MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
}


_SAMPLE_DATA = (
    "resolution",
    "timeline",
    "final_response",
    "reasons_for_delay",
    "stage_1_decision",
    "stage_2_decision",
    "progress_explanation",
    "response_category",
    "response",
)
_SAMPLES = {
    "en": {
        "summary": "A card payment of £120.00 was taken twice",
        "signer_title": "Complaints team leader",
        "desired_outcome": "Refund the second payment",
        "resolution": "We refunded the duplicate payment of £120.00 on 4 March 2026.",
        "timeline": "The refund reaches your account within 3 working days.",
        "final_response": (
            "We found that our card system took the payment twice. We have refunded £120.00 "
            "and added £25.00 for the inconvenience."
        ),
        "reasons_for_delay": "We are waiting for records from the card scheme.",
        "stage_1_decision": "We refunded the duplicate payment of £120.00.",
        "stage_2_decision": (
            "We upheld your complaint: the payment was taken twice because of a fault in our "
            "card system, which we have fixed."
        ),
        "progress_explanation": "We are checking the payment records with the card scheme.",
        "response_category": "Closed with monetary relief",
        "response": "We refunded the duplicate payment of $120.00.",
    },
    "fr": {
        "summary": "Un paiement par carte de 120,00 £ a été débité deux fois",
        "signer_title": "Responsable de l'équipe réclamations",
        "desired_outcome": "Rembourser le second paiement",
        "resolution": "Nous avons remboursé le paiement en double de 120,00 £ le 4 mars 2026.",
        "timeline": "Le remboursement parviendra sur votre compte sous 3 jours ouvrables.",
        "final_response": (
            "Nous avons constaté que notre système de cartes a débité le paiement deux fois. "
            "Nous vous avons remboursé 120,00 £ et ajouté 25,00 £ pour le désagrément."
        ),
        "reasons_for_delay": "Nous attendons les relevés du réseau de cartes.",
        "stage_1_decision": "Nous avons remboursé le paiement en double de 120,00 £.",
        "stage_2_decision": (
            "Nous avons donné raison à votre réclamation : le paiement a été débité deux fois à "
            "cause d'une panne de notre système de cartes, que nous avons corrigée."
        ),
        "progress_explanation": "Nous vérifions les relevés de paiement avec le réseau de cartes.",
        "response_category": "Clôturée avec réparation financière",
        "response": "Nous avons remboursé le paiement en double de 120,00 $.",
    },
}

# -- what a letter says ----------------------------------------------------------------------


@attrs.frozen
class Letter:
    """A letter ready to send: its subject, its text and, if its template has one, its HTML.

    Args:
        name: the letter (``"final_response"``).
        language: the language of the template used (English when none was found in the
            language asked for).
        subject: the one-line subject the template set.
        text: the plain-text body.
        html: the HTML body, when an ``.html`` template sits beside the ``.txt`` one.
        template: the path of the ``.txt`` template used.
    """

    name: str
    language: str
    subject: str
    text: str
    html: str | None = None
    template: str = ""


class RequiredContentError(LetterError):
    """A rendered letter misses content that the workflow's rules require; it is not sent.

    ``missing`` names each item, ``template`` is the file that rendered the letter.
    """

    def __init__(
        self, letter: str, workflow: str, template: str, missing: Sequence[RequiredMention]
    ) -> None:
        self.letter = letter
        self.workflow = workflow
        self.template = template
        self.missing = tuple(item.name for item in missing)
        items = "; ".join(f"{item.name} (looked for /{item.pattern}/)" for item in missing)
        super().__init__(
            f"the {letter} letter rendered from {template} does not say what the "
            f"{workflow!r} rules require: {items}. Nothing was sent: add it to that template "
            "(or to a host override of it) and render the letter again"
        )


def _text(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    arguments.text(attribute.name, value)


def _text_or_blank(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    arguments.text(attribute.name, value, blank=True)


def _aware(instance: object, attribute: attrs.Attribute[datetime], value: object) -> None:
    arguments.aware_datetime(attribute.name, value)


def _aware_or_none(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    arguments.optional_aware_datetime(attribute.name, value)


def _owner(value: object) -> Actor | None:
    if value is None:
        return None
    return arguments.instance("owner", value, Actor, "Actor(id=..., name=..., role=...)")


def _data(value: object) -> FrozenData:
    try:
        return freeze_mapping(arguments.optional_mapping("data", value))
    except TypeError as exc:
        raise InvalidArgumentError(
            f"data must be JSON-like (text, numbers, true/false, None, lists and mappings): {exc}"
        ) from None


def _deadlines(value: object) -> Mapping[str, datetime]:
    given = arguments.optional_mapping("deadlines", value) or {}
    return MappingProxyType(
        {name: arguments.aware_datetime(f"deadlines[{name!r}]", at) for name, at in given.items()}
    )


@attrs.frozen(kw_only=True)
class LetterContext:
    """What the shipped letters say about one complaint; each field is a template variable.

    Args:
        organisation: who writes (``"Northwind Bank"``).
        reference: the complaint's reference, quoted to the customer.
        customer_name: how to address the customer.
        summary: what the complaint is about, in one line.
        received_at: when it was received (timezone-aware).
        signed_by: the name the letter is signed with.
        contact: how the customer reaches the complaints team (an address, a number).
        signer_title: the signer's title (``"Complaints team leader"``).
        category: the complaint's category.
        desired_outcome: what the customer asked for.
        owner: who is putting it right (a template reads ``owner.name``, ``owner.email``,
            ``owner.phone``, ``owner.role``).
        data: what the process collected: ``resolution``, ``final_response``,
            ``reasons_for_delay``, ``expected_final_response``… (the workflow's
            required data), read by templates as ``data.NAME``.
        deadlines: deadline clocks by name (``deadlines.final_response``).
        respond_by: when the customer can expect the full answer, if known.
    """

    organisation: str = attrs.field(validator=_text)
    reference: str = attrs.field(validator=_text)
    customer_name: str = attrs.field(validator=_text)
    summary: str = attrs.field(validator=_text)
    received_at: datetime = attrs.field(validator=_aware)
    signed_by: str = attrs.field(validator=_text)
    contact: str = attrs.field(validator=_text)
    signer_title: str = attrs.field(default="", validator=_text_or_blank)
    category: str = attrs.field(default="general", validator=_text)
    desired_outcome: str = attrs.field(default="", validator=_text_or_blank)
    owner: Actor | None = attrs.field(default=None, converter=_owner)
    data: FrozenData = attrs.field(default=EMPTY, converter=_data)
    deadlines: Mapping[str, datetime] = attrs.field(
        factory=lambda: MappingProxyType({}), converter=_deadlines
    )
    respond_by: datetime | None = attrs.field(default=None, validator=_aware_or_none)

    @classmethod
    def for_complaint(
        cls,
        complaint: Complaint,
        *,
        organisation: str,
        signed_by: str,
        contact: str,
        signer_title: str = "",
    ) -> LetterContext:
        """The context of a letter about ``complaint``, from its latest version.

        ``deadlines`` are its clocks' deadlines; ``respond_by`` is the latest deadline of
        a clock still running (the full answer), if one is.
        """
        complaint = arguments.instance(
            "complaint", complaint, Complaint, "engine.complaint(reference)"
        )
        running = [
            clock.deadline for clock in complaint.clocks if clock.status is ClockStatus.RUNNING
        ]
        return cls(
            organisation=organisation,
            reference=complaint.reference,
            customer_name=complaint.customer.name,
            summary=complaint.summary,
            received_at=complaint.received_at,
            signed_by=signed_by,
            contact=contact,
            signer_title=signer_title,
            category=complaint.category,
            desired_outcome=complaint.desired_outcome,
            owner=complaint.owner,
            data=complaint.data,
            deadlines={clock.name: clock.deadline for clock in complaint.clocks},
            respond_by=max(running, default=None),
        )

    @classmethod
    def sample(cls, language: str = FALLBACK_LANGUAGE) -> LetterContext:
        """A made-up complaint that every shipped letter of every pack can be written for.

        Its texts are in ``language`` where a sample exists in it (English, French),
        else in English.
        """
        texts = _SAMPLES.get(arguments.name("language", language), _SAMPLES[FALLBACK_LANGUAGE])
        return cls(
            organisation="Northwind Bank",
            reference="CF-2026-000123",
            customer_name="Ada Lovelace",
            summary=texts["summary"],
            received_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
            signed_by="Bo Adams",
            signer_title=texts["signer_title"],
            contact="complaints@northwind.example, 0800 000 0000",
            category="payments",
            desired_outcome=texts["desired_outcome"],
            owner=Actor(
                id="A-7",
                name="Cy Ng",
                role="supervisor",
                email="cy.ng@northwind.example",
                phone="0800 000 0007",
            ),
            data={
                **{key: texts[key] for key in _SAMPLE_DATA},
                "expected_final_response": "2026-04-17",
                "survey_url": "https://northwind.example/survey/CF-2026-000123",
            },
            deadlines={
                "acknowledge": datetime(2026, 3, 3, 17, 0, tzinfo=UTC),
                "final_response": datetime(2026, 4, 27, 9, 30, tzinfo=UTC),
                "stage_2_response": datetime(2026, 3, 30, 17, 0, tzinfo=UTC),
            },
            respond_by=datetime(2026, 4, 27, 9, 30, tzinfo=UTC),
        )

    def variables(self) -> dict[str, Any]:
        """The template variables: every field, ``owner`` and ``data`` as plain mappings."""
        owner = self.owner
        return {
            "organisation": self.organisation,
            "reference": self.reference,
            "customer_name": self.customer_name,
            "summary": self.summary,
            "received_at": self.received_at,
            "signed_by": self.signed_by,
            "signer_title": self.signer_title,
            "contact": self.contact,
            "category": self.category,
            "desired_outcome": self.desired_outcome,
            "owner": None if owner is None else _actor(owner),
            "data": thaw(self.data),
            "deadlines": dict(self.deadlines),
            "respond_by": self.respond_by,
        }


def _actor(actor: Actor) -> dict[str, str | None]:
    return {"name": actor.name, "email": actor.email, "phone": actor.phone, "role": actor.role}


# -- finding and rendering templates ---------------------------------------------------------


@attrs.frozen
class _Root:
    """A directory of letter templates, and the language they are written in."""

    path: Path
    language: str


class Letters:
    """Letters for one rule pack (or none), in the languages offered, from the templates found.

    Args:
        pack: a shipped pack's name (``"fca"``), the :class:`WorkflowDefinition` of a
            workflow whose ``[[letters]]`` rules apply, or ``None`` (no rules, no pack
            templates).
        languages: the languages offered (default: every language a template exists for).
        override_dirs: the host's template directories, searched first, in order; each
            laid out as the shipped one (``L/NAME.txt``, ``packs/P/L/NAME.txt``).

    Raises:
        LetterError: the pack or a language is unknown, or Jinja2 is not installed.
        InvalidArgumentError: an override directory does not exist.
    """

    def __init__(
        self,
        pack: str | WorkflowDefinition | None = None,
        languages: Iterable[str] | None = None,
        override_dirs: Sequence[Path | str] = (),
    ) -> None:
        self._jinja = _jinja()
        self._rules = _rules(pack)
        self._pack = self._rules.name if self._rules is not None else None
        self._overrides = tuple(
            _directory(f"override_dirs[{index}]", given)
            for index, given in enumerate(arguments.items("override_dirs", override_dirs))
        )
        self._shipped = _shipped_templates()
        known = self._known_languages()
        if languages is None:
            self._languages = tuple(sorted(known))
        else:
            offered = arguments.names("languages", languages, empty=False)
            unknown = [language for language in offered if language not in known]
            if unknown:
                raise LetterError(
                    f"no letter templates in {', '.join(map(repr, unknown))}; languages with "
                    f"templates: {', '.join(sorted(known))}. Add the templates in an override "
                    f"directory (OVERRIDE/{unknown[0]}/NAME.txt) or offer one of those"
                )
            self._languages = tuple(dict.fromkeys(offered))
        self._environments: dict[str, jinja2.Environment] = {}
        self._compiled: dict[tuple[Path, int], jinja2.Template] = {}

    @property
    def pack(self) -> str | None:
        """The name of the workflow whose rules and templates apply, if any."""
        return self._pack

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages offered."""
        return self._languages

    @property
    def requirements(self) -> tuple[LetterRequirement, ...]:
        """What the pack's rules require each letter to mention."""
        return self._rules.letters if self._rules is not None else ()

    def letters(self, language: str = FALLBACK_LANGUAGE) -> tuple[str, ...]:
        """The letters that can be written in ``language`` (some perhaps in English)."""
        language = self._offered(language)
        roots = self._letter_roots(language)
        return tuple(sorted({name for root in roots for name in _names(root)}))

    def render(
        self, letter: str, context: LetterContext | Mapping[str, Any], language: str
    ) -> Letter:
        """Write ``letter`` in ``language`` with ``context``; refuse it if it breaks the rules.

        Args:
            letter: the letter's name (``"final_response"``).
            context: a :class:`LetterContext`, or a mapping of the template's variables.
            language: one of :attr:`languages`.

        Raises:
            LetterError: the letter or the language is unknown, or the template failed (a
                missing value, a syntax error, something the sandbox forbids): the message
                names the template and the line.
            RequiredContentError: the letter misses content the rules require.
        """
        letter = arguments.name("letter", letter)
        language = self._offered(language)
        variables = _variables(context)
        root = self._find(letter, language)
        environment = self._environment(root.language)
        path = root.path / f"{letter}.txt"
        values = {**variables, "letter": letter, "language": root.language}
        template = _guarded(path, lambda: self._load(environment, root, f"{letter}.txt"))
        module = _guarded(path, lambda: _module(template, values))
        text = _guarded(path, lambda: str(module).strip() + "\n")
        subject = _guarded(path, lambda: " ".join(str(getattr(module, "subject", "")).split()))
        if not subject:
            raise LetterError(
                f'{path} sets no subject; begin it with {{% set subject = "..." %}} '
                '(e.g. "Your complaint " ~ reference)'
            )
        html = None
        html_path = root.path / f"{letter}.html"
        if html_path.is_file():
            html_template = _guarded(
                html_path, lambda: self._load(environment, root, f"{letter}.html")
            )
            html = _guarded(html_path, lambda: html_template.render({**values, "subject": subject}))
        self._check(letter, root.language, str(path), text, html)
        return Letter(
            name=letter,
            language=root.language,
            subject=subject,
            text=text,
            html=html,
            template=str(path),
        )

    # -- rules ---------------------------------------------------------------------------

    def _check(
        self, letter: str, language: str, template: str, text: str, html: str | None
    ) -> None:
        requirement = requirement_for(self.requirements, letter)
        if requirement is None or self._pack is None:
            return
        missing = requirement.missing(text, language)
        if missing:
            raise RequiredContentError(letter, self._pack, template, missing)
        if html is not None:
            missing = requirement.missing(_visible_text(html), language)
            if missing:
                html_template = template.removesuffix(".txt") + ".html"
                raise RequiredContentError(letter, self._pack, html_template, missing)

    # -- where templates are -------------------------------------------------------------

    def _offered(self, language: object) -> str:
        language = arguments.name("language", language)
        if language not in self._languages:
            raise LetterError(
                f"letters are not offered in {language!r}; languages: "
                f"{', '.join(self._languages)}. Pick one, or add templates for it in an "
                f"override directory (OVERRIDE/{language}/NAME.txt)"
            )
        return language

    def _letter_roots(self, language: str) -> list[_Root]:
        """Where a letter in ``language`` is looked for, first found wins."""
        candidates: list[Path] = []
        if self._pack is not None:
            candidates += [base / "packs" / self._pack / language for base in self._overrides]
        candidates += [base / language for base in self._overrides]
        if self._pack is not None:
            candidates.append(self._shipped / "packs" / self._pack / language)
        candidates.append(self._shipped / language)
        roots = [_Root(path, language) for path in dict.fromkeys(candidates) if path.is_dir()]
        if language != FALLBACK_LANGUAGE:
            roots.append(_Root(self._shipped / FALLBACK_LANGUAGE, FALLBACK_LANGUAGE))
        return roots

    def _find(self, letter: str, language: str) -> _Root:
        roots = self._letter_roots(language)
        for root in roots:
            if LETTER_NAME.match(letter) and (root.path / f"{letter}.txt").is_file():
                return root
        known = sorted({name for root in roots for name in _names(root)})
        raise LetterError(
            f"no letter named {letter!r} in {language!r}; letters: {', '.join(known)}. "
            f"Add a template {letter}.txt in an override directory, or pick one of those"
        )

    def _known_languages(self) -> set[str]:
        found: set[str] = set()
        for base in (*self._overrides, self._shipped):
            found |= _languages_in(base)
            if self._pack is not None:
                found |= _languages_in(base / "packs" / self._pack)
        return found

    def _environment(self, language: str) -> jinja2.Environment:
        if language not in self._environments:
            roots = self._letter_roots(language)
            own = [root.path for root in roots if root.language == language]
            search = [*own, *self._overrides, self._shipped]
            self._environments[language] = _sandbox(self._jinja, search, language)
        return self._environments[language]

    def _load(self, environment: jinja2.Environment, root: _Root, name: str) -> jinja2.Template:
        # Loaded from the root that won, whatever an earlier directory of the include path
        # holds; its own includes then follow the include path of its language. Compiled
        # once per version of the file: compiling costs ten times what rendering does.
        path = root.path / name
        key = (path, path.stat().st_mtime_ns)
        if key not in self._compiled:
            loader = self._jinja.FileSystemLoader(str(root.path))
            self._compiled[key] = loader.load(environment, name)
        return self._compiled[key]


def _variables(context: object) -> dict[str, Any]:
    if isinstance(context, LetterContext):
        return context.variables()
    if isinstance(context, Mapping):
        return dict(arguments.mapping("context", context))
    raise InvalidArgumentError(
        f"context must be a LetterContext or a mapping of the template's variables, got "
        f"{arguments.shown(context)}; build one with LetterContext(...) or "
        "LetterContext.for_complaint(complaint, ...)"
    )


def _rules(pack: object) -> WorkflowDefinition | None:
    if pack is None or isinstance(pack, WorkflowDefinition):
        return pack
    name = arguments.name("pack", pack)
    try:
        return load_pack(name)
    except UnknownWorkflowError:
        raise LetterError(
            f"no rule pack named {name!r}; shipped packs: {', '.join(pack_names())}. For "
            "a workflow of your own, pass its WorkflowDefinition"
        ) from None


def _directory(argument: str, value: object) -> Path:
    if not isinstance(value, str | Path):
        raise InvalidArgumentError(
            f"{argument} must be a directory's path, got {arguments.shown(value)}; pass a Path"
        )
    path = Path(value)
    if not path.is_dir():
        raise InvalidArgumentError(
            f"{argument} must be a directory of letter templates, but {str(path)!r} is not a "
            "directory; create it (laid out as LANGUAGE/NAME.txt) or fix the path"
        )
    return path


def _shipped_templates() -> Path:
    found = resources.files("complaint_flow.channels").joinpath("templates")
    if not isinstance(found, Path):  # pragma: no cover - an installation from a zip file
        raise LetterError(
            "the shipped letter templates must be files on disk; install complaint-flow "
            "unzipped (pip installs it so)"
        )
    return found


def _languages_in(base: Path) -> set[str]:
    if not base.is_dir():
        return set()
    return {
        entry.name
        for entry in base.iterdir()
        if entry.is_dir() and LANGUAGE_TAG.match(entry.name) and _names(_Root(entry, entry.name))
    }


def _names(root: _Root) -> set[str]:
    """The letters a directory has templates for (``_NAME.txt`` files are parts, not letters)."""
    return {path.stem for path in root.path.glob("*.txt") if LETTER_NAME.match(path.stem)}


# -- the sandbox -----------------------------------------------------------------------------


def _jinja() -> ModuleType:
    try:
        import jinja2
        import jinja2.sandbox
    except ImportError as exc:
        raise LetterError(
            f"letters need Jinja2 ({exc}); install it with pip install 'complaint-flow[letters]'"
        ) from exc
    return jinja2


@functools.cache
def _sandbox_class(jinja: ModuleType) -> type[jinja2.Environment]:
    """The sandbox letters are rendered in: immutable values, bounded ``*`` and ``**``."""
    sandbox = jinja.sandbox

    class LetterSandbox(sandbox.ImmutableSandboxedEnvironment):  # type: ignore[misc,name-defined]
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
            if op == "**" and isinstance(right, int | float) and abs(right) > _MAX_EXPONENT:
                raise sandbox.SecurityError(f"an exponent above {_MAX_EXPONENT} is not allowed")
            if op == "*":
                for sequence, count in ((left, right), (right, left)):
                    if (
                        isinstance(sequence, str | list | tuple)
                        and isinstance(count, int)
                        and len(sequence) * count > _MAX_REPEAT
                    ):
                        raise sandbox.SecurityError(
                            f"a text or list longer than {_MAX_REPEAT} is not allowed"
                        )
            return super().call_binop(context, op, left, right)

    return LetterSandbox


def _sandbox(jinja: ModuleType, search: Sequence[Path], language: str) -> jinja2.Environment:
    environment: jinja2.Environment = _sandbox_class(jinja)(
        loader=jinja.FileSystemLoader([str(path) for path in search]),
        autoescape=jinja.select_autoescape(
            enabled_extensions=("html", "htm"), default_for_string=False, default=False
        ),
        undefined=jinja.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["date"] = functools.partial(long_date, language=language)
    return environment


def _module(template: jinja2.Template, values: Mapping[str, Any]) -> Any:
    """The template run as a module: its text, and the variables it set (its subject)."""
    try:
        return template.make_module(dict(values))
    except Exception:
        # As Template.render does: the traceback then shows the templates' own lines.
        template.environment.handle_exception()


def _guarded(path: Path, call: Callable[[], T]) -> T:
    """``call()``, with any failure of the template as a :class:`LetterError` naming where."""
    import jinja2
    import jinja2.exceptions

    try:
        return call()
    except LetterError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        where = _where(exc.filename or str(path), exc.lineno)
        problem = f"is not a valid template: {exc.message}; fix the syntax"
    except jinja2.TemplateNotFound as exc:
        where = _where_in(exc, path)
        problem = (
            f"includes {exc.name!r}, which no template directory has; add it, or include a "
            "template that exists"
        )
    except jinja2.exceptions.SecurityError as exc:
        where = _where_in(exc, path)
        problem = (
            f"was stopped by the sandbox ({exc}): a letter template may only read the "
            "letter's values, not names starting with '_' or Python's internals"
        )
    except jinja2.UndefinedError as exc:
        where = _where_in(exc, path)
        problem = (
            f"uses a value the letter's context does not have ({exc.message}); give it in "
            "the context (data={...}), or test it with {% if data.NAME is defined %}"
        )
    except Exception as exc:  # an expression in a template may raise anything
        where = _where_in(exc, path)
        problem = f"failed: {type(exc).__name__}: {exc}"
    raise LetterError(f"the letter template {where} {problem}") from None


def _where(path: str, line: int | None) -> str:
    return f"{path} (line {line})" if line else path


def _where_in(error: BaseException, path: Path) -> str:
    """The template file and line that raised ``error`` (Jinja2 puts them in tracebacks)."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.endswith(".py") and Path(frame.filename).is_file()
    ]
    if not frames:
        return str(path)
    return _where(frames[-1].filename, frames[-1].lineno)


def long_date(value: object, language: str = FALLBACK_LANGUAGE) -> str:
    """A date as a letter writes it in ``language`` (the templates' ``date`` filter).

    Text in ISO form is read as a date; other text is kept as it is.

    >>> when = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    >>> long_date(when), long_date(when, "fr"), long_date("2026-04-17", "fr")
    ('1 March 2026', '1er mars 2026', '17 avril 2026')
    >>> long_date("by the end of April")
    'by the end of April'
    """
    day = value
    if isinstance(value, str):
        try:
            day = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(day, datetime):
        day = day.date()
    if not isinstance(day, date):
        return str(value)
    months = _MONTHS.get(language.split("-")[0])
    if months is None:
        return day.isoformat()
    number = "1er" if language.startswith("fr") and day.day == 1 else str(day.day)
    return f"{number} {months[day.month - 1]} {day.year}"


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style", "head"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def _visible_text(html: str) -> str:
    """What a reader of ``html`` sees: the text, without tags, scripts or styles."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return " ".join(parser.parts)


__all__ = [
    "FALLBACK_LANGUAGE",
    "SHIPPED_LETTERS",
    "Letter",
    "LetterContext",
    "Letters",
    "RequiredContentError",
    "long_date",
]
