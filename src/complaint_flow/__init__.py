"""complaint_flow: embeddable complaint handling.

Receive complaints on every channel, move each through a configurable,
validated workflow with a complete audit trail, notify the right people on the
right channel, and extend it all through pluggy hooks.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from complaint_flow.analysis import (
    Cusum,
    EffectAssessment,
    Ewma,
    Farrington,
    LearningExtraMissingError,
    SimilarCluster,
    SpikeFinding,
    assess_effect,
    detect_spikes,
    find_similar_complaints,
)
from complaint_flow.channels.email_composing import compose_email
from complaint_flow.channels.email_parsing import (
    REPLY_PREFIXES,
    Attachment,
    DeliveryStatus,
    ParsedEmail,
    RecipientStatus,
    find_reference,
    latest_reply,
    parse_email,
    strip_subject_prefixes,
)
from complaint_flow.channels.imap import FetchedMessage, ImapMailbox, ImapSettings, MailboxCursor
from complaint_flow.channels.letters import Letter, LetterContext, Letters, RequiredContentError
from complaint_flow.channels.smtp import RecipientRefusedError, SmtpChannel, SmtpError, SmtpSettings
from complaint_flow.channels.web_form import (
    FieldError,
    WebFormError,
    customer_id_from_contact,
    read_web_form,
    web_form_schema,
)
from complaint_flow.channels.webhooks import (
    WEBHOOK_SCHEMA,
    WebhookError,
    WebhookNotifier,
    verify_signature,
    webhook_body_schema,
    webhook_signature,
)
from complaint_flow.definitions.calendars import (
    BusinessCalendar,
    CalendarError,
    Duration,
    DurationError,
    DurationUnit,
    WorkingPeriod,
)
from complaint_flow.definitions.deadlines import ClockDefinition
from complaint_flow.definitions.escalation import (
    EscalationLadder,
    EscalationLevel,
    EscalationPolicy,
    Routing,
)
from complaint_flow.definitions.letter_content import LetterRequirement, RequiredMention
from complaint_flow.definitions.packs import load_pack, pack_names
from complaint_flow.definitions.remedies import Remedy, RemedyKind, check_authority
from complaint_flow.definitions.root_causes import (
    RootCause,
    RootCauseTaxonomy,
    RootCauseTaxonomyError,
    UnknownRootCauseError,
    default_root_causes,
)
from complaint_flow.definitions.workflow import (
    StateDefinition,
    TransitionDefinition,
    WorkflowDefinition,
)
from complaint_flow.engine import DEFAULT_STORE_URL, Engine
from complaint_flow.errors import (
    AuthorityExceededError,
    ChannelError,
    ClockError,
    ComplaintFlowError,
    ComplaintNotFoundError,
    ConcurrencyError,
    ConductError,
    ConflictOfInterestError,
    ContactFiledError,
    DuplicateIntakeError,
    EscalationError,
    GuardRefusedError,
    InvalidArgumentError,
    InvalidIntakeError,
    LetterError,
    MissingFieldError,
    NotAuthorisedError,
    PermissionDeniedError,
    PlaceholderContactWarning,
    PluginError,
    QuarantinedMessageError,
    SchemaVersionError,
    StoreError,
    TransitionError,
    TriggerNotAllowedError,
    UnknownChannelError,
    UnknownStoreError,
    UnknownTriggerError,
    UnknownWorkflowError,
    UnreachableAddressError,
    WorkflowDefinitionError,
)
from complaint_flow.fsm.action_machine import ActionStatusError
from complaint_flow.fsm.diagram import to_mermaid
from complaint_flow.kernel.actions import ActionNotFoundError
from complaint_flow.model.actions import (
    ActionKind,
    ActionStatus,
    CorrectiveAction,
    EffectCheck,
    Verdict,
)
from complaint_flow.model.channel_records import (
    LinkDirection,
    MessageLink,
    QuarantinedMessage,
    QuarantineEntry,
    QuarantineStatus,
)
from complaint_flow.model.channels import Channel, ChannelAdapter, Outgoing, Receipt
from complaint_flow.model.clock import Clock, ManualClock, SystemClock
from complaint_flow.model.conduct import (
    Adjustment,
    ConductRecord,
    ConductStatus,
    Restriction,
    RestrictionKind,
    ReviewItem,
    ReviewReason,
)
from complaint_flow.model.entities import (
    SYSTEM,
    Actor,
    ChannelKind,
    ClockState,
    ClockStatus,
    Complaint,
    Customer,
    Event,
    Intake,
    OutboxMessage,
    OutboxStatus,
    Severity,
)
from complaint_flow.plugins.hookspecs import hookimpl
from complaint_flow.plugins.manager import Registry, make_plugin_manager
from complaint_flow.services.action_desk import ActionDesk
from complaint_flow.services.action_effects import (
    CheckNotDueError,
    DueChecksReport,
    NothingToMeasureError,
)
from complaint_flow.services.audit import AuditProblem, AuditReport, verify_store
from complaint_flow.services.conduct_desk import ConductDesk, ConductPolicy
from complaint_flow.services.conduct_patterns import PatternFlag
from complaint_flow.services.delivery import Backoff, DeliveryReport, OutboxDispatcher
from complaint_flow.services.email_intake import EmailIntake, MailOutcome, MailOutcomeKind
from complaint_flow.services.final_decisions import ReviewOutcome
from complaint_flow.services.intake import IntakeOutcome, OutcomeKind
from complaint_flow.services.outgoing import LetterSettings
from complaint_flow.services.privacy import (
    ERASED,
    ErasureReport,
    PurgeReport,
    erase_customer,
    purge_closed,
    retention_cutoff,
)
from complaint_flow.services.staff_intake import STAFF_CHANNELS, staff_intake
from complaint_flow.services.sweep import SweepReport
from complaint_flow.storage.contract import (
    ActionStore,
    ChannelStore,
    Commit,
    ComplaintStore,
    ConductCommit,
    ConductStore,
    OutboxStore,
    Store,
)

try:
    __version__ = version("complaint-flow")
except PackageNotFoundError:  # running from a source tree that is not installed
    from complaint_flow._version import __version__

__all__ = [
    "DEFAULT_STORE_URL",
    "ERASED",
    "REPLY_PREFIXES",
    "STAFF_CHANNELS",
    "SYSTEM",
    "WEBHOOK_SCHEMA",
    "ActionDesk",
    "ActionKind",
    "ActionNotFoundError",
    "ActionStatus",
    "ActionStatusError",
    "ActionStore",
    "Actor",
    "Adjustment",
    "Attachment",
    "AuditProblem",
    "AuditReport",
    "AuthorityExceededError",
    "Backoff",
    "BusinessCalendar",
    "CalendarError",
    "Channel",
    "ChannelAdapter",
    "ChannelError",
    "ChannelKind",
    "ChannelStore",
    "CheckNotDueError",
    "Clock",
    "ClockDefinition",
    "ClockError",
    "ClockState",
    "ClockStatus",
    "Commit",
    "Complaint",
    "ComplaintFlowError",
    "ComplaintNotFoundError",
    "ComplaintStore",
    "ConcurrencyError",
    "ConductCommit",
    "ConductDesk",
    "ConductError",
    "ConductPolicy",
    "ConductRecord",
    "ConductStatus",
    "ConductStore",
    "ConflictOfInterestError",
    "ContactFiledError",
    "CorrectiveAction",
    "Customer",
    "Cusum",
    "DeliveryReport",
    "DeliveryStatus",
    "DueChecksReport",
    "DuplicateIntakeError",
    "Duration",
    "DurationError",
    "DurationUnit",
    "EffectAssessment",
    "EffectCheck",
    "EmailIntake",
    "Engine",
    "ErasureReport",
    "EscalationError",
    "EscalationLadder",
    "EscalationLevel",
    "EscalationPolicy",
    "Event",
    "Ewma",
    "Farrington",
    "FetchedMessage",
    "FieldError",
    "GuardRefusedError",
    "ImapMailbox",
    "ImapSettings",
    "Intake",
    "IntakeOutcome",
    "InvalidArgumentError",
    "InvalidIntakeError",
    "LearningExtraMissingError",
    "Letter",
    "LetterContext",
    "LetterError",
    "LetterRequirement",
    "LetterSettings",
    "Letters",
    "LinkDirection",
    "MailOutcome",
    "MailOutcomeKind",
    "MailboxCursor",
    "ManualClock",
    "MessageLink",
    "MissingFieldError",
    "NotAuthorisedError",
    "NothingToMeasureError",
    "OutboxDispatcher",
    "OutboxMessage",
    "OutboxStatus",
    "OutboxStore",
    "OutcomeKind",
    "Outgoing",
    "ParsedEmail",
    "PatternFlag",
    "PermissionDeniedError",
    "PlaceholderContactWarning",
    "PluginError",
    "PurgeReport",
    "QuarantineEntry",
    "QuarantineStatus",
    "QuarantinedMessage",
    "QuarantinedMessageError",
    "Receipt",
    "RecipientRefusedError",
    "RecipientStatus",
    "Registry",
    "Remedy",
    "RemedyKind",
    "RequiredContentError",
    "RequiredMention",
    "Restriction",
    "RestrictionKind",
    "ReviewItem",
    "ReviewOutcome",
    "ReviewReason",
    "RootCause",
    "RootCauseTaxonomy",
    "RootCauseTaxonomyError",
    "Routing",
    "SchemaVersionError",
    "Severity",
    "SimilarCluster",
    "SmtpChannel",
    "SmtpError",
    "SmtpSettings",
    "SpikeFinding",
    "StateDefinition",
    "Store",
    "StoreError",
    "SweepReport",
    "SystemClock",
    "TransitionDefinition",
    "TransitionError",
    "TriggerNotAllowedError",
    "UnknownChannelError",
    "UnknownRootCauseError",
    "UnknownStoreError",
    "UnknownTriggerError",
    "UnknownWorkflowError",
    "UnreachableAddressError",
    "Verdict",
    "WebFormError",
    "WebhookError",
    "WebhookNotifier",
    "WorkflowDefinition",
    "WorkflowDefinitionError",
    "WorkingPeriod",
    "__version__",
    "assess_effect",
    "check_authority",
    "compose_email",
    "customer_id_from_contact",
    "default_root_causes",
    "detect_spikes",
    "erase_customer",
    "find_reference",
    "find_similar_complaints",
    "hookimpl",
    "latest_reply",
    "load_pack",
    "make_plugin_manager",
    "pack_names",
    "parse_email",
    "purge_closed",
    "read_web_form",
    "retention_cutoff",
    "staff_intake",
    "strip_subject_prefixes",
    "to_mermaid",
    "verify_signature",
    "verify_store",
    "web_form_schema",
    "webhook_body_schema",
    "webhook_signature",
]
