"""Turning an outbox message into the :class:`Outgoing` a channel adapter sends.

The subject carries the complaint's reference, so that an answer finds its way back
to the complaint whatever the channel; the text is the message's own text (a stop
procedure letter carries it in ``payload["text"]``) or a plain statement of what
happened, in the recipient's terms. For email, the ids of the messages already
exchanged on the complaint (received and sent, from the store's message links) go in
``in_reply_to`` and ``references``, so that the customer's mail program threads the
conversation and their answer threads back.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from complaint_flow.arguments import items, name, text
from complaint_flow.channels.letters import LetterContext, Letters
from complaint_flow.errors import InvalidArgumentError
from complaint_flow.kernel.unit_of_work import Kernel
from complaint_flow.model.channel_records import LinkDirection
from complaint_flow.model.channels import Outgoing
from complaint_flow.model.entities import Complaint, OutboxMessage

TOPIC_SENTENCES = {
    "received": "We have received your complaint.",
    "acknowledged": "We have received your complaint and are looking into it.",
    "resolved": "We have reached a decision on your complaint.",
    "escalated": "Your complaint has been passed to a more senior colleague.",
    "closed": "Your complaint is now closed.",
}


def plain_outgoing(message: OutboxMessage, complaint: Complaint | None) -> Outgoing:
    """A plain-text :class:`Outgoing` for ``message`` (no letter template)."""
    if message.address is None:
        raise InvalidArgumentError(f"outbox message {message.key} has no address to send to")
    reference = complaint.reference if complaint is not None else ""
    topic = message.topic.rsplit(".", 1)[-1]
    text = message.payload.get("text")
    if not isinstance(text, str) or not text:
        sentence = TOPIC_SENTENCES.get(topic, f"There is news about your complaint ({topic}).")
        state = message.payload.get("state", complaint.state if complaint else "")
        text = f"Dear {message.payload.get('name', '')},\n\n{sentence}\n"
        if state:
            text += f"\nIt is now: {str(state).replace('_', ' ')}.\n"
    subject = f"Your complaint: {topic.replace('_', ' ')}"
    return Outgoing(
        key=message.key,
        channel=message.channel,
        address=message.address,
        recipient_name=str(message.payload.get("name", "")),
        subject=f"[{reference}] {subject}" if reference else subject,
        text=text,
        reference=reference,
        automatic=True,
    )


MAX_REFERENCES = 20
"""The most message ids an outgoing message names in ``references`` (the latest ones)."""


def _organisation(given: object) -> str:
    return text("organisation", given)


def _signed_by(given: object) -> str:
    return text("signed_by", given)


def _contact(given: object) -> str:
    return text("contact", given)


def _optional(given: object) -> str:
    return text("signer_title", given, blank=True)


def _language(given: object) -> str:
    return name("language", given)


def _directories(given: object) -> tuple[Path, ...]:
    return tuple(Path(str(d)) for d in items("override_dirs", given))


@attrs.frozen
class LetterSettings:
    """Who signs the letters the outbox writes, and where host templates are.

    With letter settings (``Engine.open(letters=LetterSettings(...))``), a message to the
    customer about a step that names a ``letter`` in its workflow is written from that
    letter's template (``docs/letters.md``) and checked against the content the
    workflow's rules require; a letter that misses any is refused and not sent (the
    attempt fails with the :class:`RequiredContentError`, and the message ends dead for
    a person to see). Without them, messages are plain text.

    Args:
        organisation: who writes (``"Northwind Bank"``).
        signed_by: the name letters are signed with.
        contact: how the customer reaches the complaints team.
        signer_title: the signer's title.
        language: the language of letters when the complaint names none
            (``complaint.data["language"]``).
        override_dirs: host template directories, searched first.
    """

    organisation: str = attrs.field(converter=_organisation)
    signed_by: str = attrs.field(converter=_signed_by)
    contact: str = attrs.field(converter=_contact)
    signer_title: str = attrs.field(default="", converter=_optional)
    language: str = attrs.field(default="en", converter=_language)
    override_dirs: tuple[Path, ...] = attrs.field(default=(), converter=_directories)


class Composer:
    """Builds each :class:`Outgoing`: its letter (or plain text), threaded on its complaint.

    Args:
        kernel: where workflows and the complaint's message links are read.
        letters: who signs letters; None writes plain text.
    """

    __slots__ = ("kernel", "letters", "writers")

    def __init__(self, kernel: Kernel, letters: LetterSettings | None = None) -> None:
        self.kernel = kernel
        self.letters = letters
        self.writers: dict[str, Letters] = {}

    def __call__(self, message: OutboxMessage, complaint: Complaint | None) -> Outgoing:
        outgoing = plain_outgoing(message, complaint)
        if complaint is None:
            return outgoing
        letter = message.payload.get("letter")
        if self.letters is not None and isinstance(letter, str):
            outgoing = self.written(outgoing, letter, complaint)
        links = self.kernel.store.links_of(complaint.id)
        if not links:
            return outgoing
        inbound = [link for link in links if link.direction is LinkDirection.INBOUND]
        return attrs.evolve(
            outgoing,
            in_reply_to=inbound[-1].message_id if inbound else None,
            references=tuple(link.message_id for link in links[-MAX_REFERENCES:]),
        )

    def written(self, outgoing: Outgoing, letter: str, complaint: Complaint) -> Outgoing:
        """``outgoing`` with the text of ``letter`` (refused if it misses required content)."""
        settings = self.letters
        assert settings is not None
        writer = self.writers.get(complaint.workflow)
        if writer is None:
            definition = self.kernel.workflow(complaint.workflow).definition
            writer = Letters(definition, override_dirs=settings.override_dirs)
            self.writers[complaint.workflow] = writer
        wanted = complaint.data.get("language")
        language = wanted if isinstance(wanted, str) and wanted in writer.languages else None
        context = LetterContext.for_complaint(
            complaint,
            organisation=settings.organisation,
            signed_by=settings.signed_by,
            contact=settings.contact,
            signer_title=settings.signer_title,
        )
        written = writer.render(letter, context, language or settings.language)
        subject = written.subject
        if complaint.reference not in subject:
            subject = f"[{complaint.reference}] {subject}"
        return attrs.evolve(outgoing, subject=subject, text=written.text, html=written.html)


__all__ = [
    "MAX_REFERENCES",
    "TOPIC_SENTENCES",
    "Composer",
    "LetterSettings",
    "plain_outgoing",
]
