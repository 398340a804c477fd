"""Deadline clocks: declared in a workflow, derived from a complaint's events.

A workflow declares clocks (``[clocks.NAME]``): which event starts each one,
which triggers stop it, the states that pause it (waiting on the customer), its
duration on a business calendar, a warning point before the deadline, and what
a breach does. A clock's state is a fold over the complaint's events
(:meth:`ClockBook.apply`), so pauses, extensions, warnings and breaches are
facts of the audit trail: replaying the history with a changed definition
(:meth:`ClockBook.replay`) recomputes every deadline without losing any of them.

How pauses move a deadline: a clock counting working time (``working days`` or
``working hours``) moves its deadline and warning point on by the working time
spent paused; a clock counting calendar time moves them by the elapsed time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from complaint_flow.definitions.calendars import (
    BusinessCalendar,
    CalendarError,
    Duration,
    DurationUnit,
)
from complaint_flow.definitions.structuring import Texts, about, as_tuple, read
from complaint_flow.model.entities import ClockState, ClockStatus, Event

STARTS_ON_RECEIPT = "received"
"""The ``starts_on`` entry meaning "when the complaint is received"."""

BREACH_ACTIONS = frozenset({"notify", "escalate"})
"""What a missed deadline may do: tell the owner, escalate one level up the ladder."""

WORKING_UNITS = frozenset({DurationUnit.WORKING_DAYS, DurationUnit.WORKING_HOURS})

# Event kinds that move clocks (besides transitions and receipt).
EXTENDED = "clock_extended"
WARNED = "clock_warning"
BREACHED = "clock_breached"


@attrs.frozen
class ClockDefinition:
    """One deadline a workflow promises, e.g. "answer stage 1 within 5 working days".

    Args:
        name: how the clock is referred to (``stage_1``).
        duration: how long, on ``calendar``.
        calendar: the name of one of the workflow's calendars.
        starts_on: ``"received"`` and/or triggers that (re)start the clock.
        stops_on: triggers that stop it; entering a terminal state always does.
        pause_states: states in which the clock does not count.
        warn_before: how long before the deadline to warn (hours units).
        on_breach: ``"notify"`` (tell the owner) and/or ``"escalate"``.
        title, description: what the rule is and where it comes from.
    """

    name: str
    duration: Duration
    calendar: str
    starts_on: tuple[str, ...] = (STARTS_ON_RECEIPT,)
    stops_on: tuple[str, ...] = ()
    pause_states: tuple[str, ...] = ()
    warn_before: Duration | None = None
    on_breach: tuple[str, ...] = ("notify",)
    title: str = ""
    description: str = ""

    @property
    def counts_working_time(self) -> bool:
        """Whether pauses are measured in working time (else in elapsed time)."""
        return self.duration.unit in WORKING_UNITS


@attrs.frozen(kw_only=True)
class ClockTable:
    """A clock as a workflow file writes it (``[clocks.NAME]``)."""

    title: str = ""
    description: str = ""
    calendar: str = attrs.field(
        metadata=about(missing="'calendar' is missing: name one of the workflow's calendars")
    )
    duration: str = attrs.field(
        metadata=about(
            label="duration",
            expects="text such as '5 working days'",
            missing="duration is missing: e.g. '5 working days'",
        )
    )
    starts_on: Texts = (STARTS_ON_RECEIPT,)
    stops_on: Texts = ()
    pause_states: Texts = ()
    warn_before: str | None = attrs.field(
        default=None, metadata=about(label="warn_before", expects="text such as '8 working hours'")
    )
    on_breach: Texts = ("notify",)


def parse_clocks(
    data: Mapping[str, Any] | None, calendar_names: Iterable[str]
) -> tuple[tuple[ClockDefinition, ...], list[str]]:
    """Read ``[clocks.NAME]`` tables; return the clocks and every problem found."""
    if not data:
        return (), []
    if not isinstance(data, Mapping):
        return (), ["'clocks' must be a table of clock name -> options"]
    reading = read(data, dict[str, ClockTable], lambda path: f"clock {path[0]!r}" if path else "")
    if reading.value is None:
        return (), list(reading.problems)
    problems = list(reading.problems)
    calendars = set(calendar_names)
    clocks: list[ClockDefinition] = []
    for name, options in reading.value.items():
        where = f"clock {name!r}"
        duration = _duration(options.duration, f"{where}: duration", problems)
        warn_before = None
        if options.warn_before is not None:
            warn_before = _duration(options.warn_before, f"{where}: warn_before", problems)
            if warn_before is not None and warn_before.unit is DurationUnit.WORKING_DAYS:
                problems.append(
                    f"{where}: warn_before {str(warn_before)!r} counts working days back from "
                    "the deadline, which is ambiguous; give it in working hours "
                    "(e.g. '8 working hours') or hours"
                )
                warn_before = None
        calendar = options.calendar
        if not calendar:
            problems.append(f"{where}: 'calendar' is missing: name one of the workflow's calendars")
        elif calendar not in calendars:
            problems.append(
                f"{where}: unknown calendar {calendar!r}; declared calendars: "
                f"{', '.join(sorted(calendars)) or 'none (add a [calendars.NAME] table)'}"
            )
        on_breach = as_tuple(options.on_breach)
        for action in on_breach:
            if action not in BREACH_ACTIONS:
                problems.append(
                    f"{where}: unknown on_breach action {action!r}; use "
                    f"{', '.join(sorted(BREACH_ACTIONS))}"
                )
        starts_on = as_tuple(options.starts_on)
        if not starts_on:
            problems.append(f"{where}: 'starts_on' is empty: say what starts the clock")
        if duration is None or calendar not in calendars:
            continue
        if warn_before is not None and _not_shorter(warn_before, duration):
            problems.append(
                f"{where}: warn_before {str(warn_before)!r} is not shorter than the duration "
                f"{str(duration)!r}: the warning would come before the clock starts"
            )
        clocks.append(
            ClockDefinition(
                name=name,
                duration=duration,
                calendar=calendar,
                starts_on=starts_on,
                stops_on=as_tuple(options.stops_on),
                pause_states=as_tuple(options.pause_states),
                warn_before=warn_before,
                on_breach=on_breach,
                title=options.title,
                description=options.description,
            )
        )
    return tuple(clocks), problems


def clock_reference_problems(
    clocks: Iterable[ClockDefinition], states: Iterable[str], triggers: Iterable[str]
) -> list[str]:
    """Problems of clocks naming states or triggers the workflow does not have."""
    state_set, trigger_set = set(states), set(triggers)
    problems = []
    for clock in clocks:
        for state in clock.pause_states:
            if state not in state_set:
                problems.append(
                    f"clock {clock.name!r}: pause state {state!r} does not exist; states: "
                    f"{', '.join(sorted(state_set))}"
                )
        for trigger in (*clock.starts_on, *clock.stops_on):
            if trigger != STARTS_ON_RECEIPT and trigger not in trigger_set:
                problems.append(
                    f"clock {clock.name!r}: trigger {trigger!r} does not exist; triggers: "
                    f"{', '.join(sorted(trigger_set))} (or 'received' for receipt)"
                )
    return problems


class ClockBook:
    """The clocks of one workflow with their calendars: folds events into clock states."""

    def __init__(
        self,
        clocks: Iterable[ClockDefinition],
        calendars: Mapping[str, BusinessCalendar],
        terminal_states: Iterable[str],
    ) -> None:
        self.clocks = {clock.name: clock for clock in clocks}
        self.calendars = {clock.name: calendars[clock.calendar] for clock in self.clocks.values()}
        self.terminal_states = frozenset(terminal_states)
        # What a transition must touch to matter to any clock: a cheap test first.
        self._triggers = frozenset(
            t for c in self.clocks.values() for t in (*c.starts_on, *c.stops_on)
        )
        self._pause_states = frozenset(s for c in self.clocks.values() for s in c.pause_states)

    def __bool__(self) -> bool:
        return bool(self.clocks)

    # -- the fold -------------------------------------------------------------

    def apply(self, states: tuple[ClockState, ...], event: Event) -> tuple[ClockState, ...]:
        """The clock states after ``event`` (the same tuple when it changes none)."""
        kind = event.kind
        if kind == "transition":
            if not (
                event.trigger in self._triggers
                or event.dest in self.terminal_states
                or event.dest in self._pause_states
                or event.source in self._pause_states
            ):
                return states
            return self._transition(states, event)
        if kind == "received":
            received = event.data.get("received_at")
            at = datetime.fromisoformat(received) if isinstance(received, str) else event.at
            return self._start(states, STARTS_ON_RECEIPT, at)
        if kind in (EXTENDED, WARNED, BREACHED):
            return self._marked(states, event)
        return states

    def replay(self, events: Iterable[Event]) -> tuple[ClockState, ...]:
        """Clock states computed afresh from a whole history."""
        states: tuple[ClockState, ...] = ()
        for event in events:
            states = self.apply(states, event)
        return states

    def _transition(self, states: tuple[ClockState, ...], event: Event) -> tuple[ClockState, ...]:
        trigger, at = event.trigger, event.at
        ends = event.dest in self.terminal_states
        by_name = {state.name: state for state in states}
        changed = False
        for clock in self.clocks.values():
            state = by_name.get(clock.name)
            new = state
            if (
                new is not None
                and new.status is not ClockStatus.STOPPED
                and (ends or trigger in clock.stops_on)
            ):
                new = new.replace(status=ClockStatus.STOPPED, stopped_at=at, paused_at=None)
            if trigger in clock.starts_on and (new is None or new.status is ClockStatus.STOPPED):
                new = self._started(clock, at)
            if new is not None and clock.pause_states:
                new = self._paused_or_resumed(clock, new, event)
            if new is not state:
                assert new is not None
                by_name[clock.name] = new
                changed = True
        return self._ordered(by_name) if changed else states

    def _start(
        self, states: tuple[ClockState, ...], start: str, at: datetime
    ) -> tuple[ClockState, ...]:
        by_name = {state.name: state for state in states}
        changed = False
        for clock in self.clocks.values():
            current = by_name.get(clock.name)
            if start in clock.starts_on and (
                current is None or current.status is ClockStatus.STOPPED
            ):
                by_name[clock.name] = self._started(clock, at)
                changed = True
        return self._ordered(by_name) if changed else states

    def _started(self, clock: ClockDefinition, at: datetime) -> ClockState:
        deadline = self.calendars[clock.name].deadline(at, clock.duration)
        return ClockState(
            name=clock.name,
            status=ClockStatus.RUNNING,
            started_at=at,
            deadline=deadline,
            warning_at=self._warning(clock, at, deadline),
        )

    def _warning(
        self, clock: ClockDefinition, anchor: datetime, deadline: datetime
    ) -> datetime | None:
        if clock.warn_before is None:
            return None
        calendar = self.calendars[clock.name]
        ahead = _as_timedelta(clock.warn_before)
        if clock.warn_before.unit is DurationUnit.WORKING_HOURS:
            total = calendar.working_time_between(anchor, deadline)
            if total <= ahead:
                return anchor
            return calendar.add_working_time(anchor, total - ahead)
        return max(anchor, deadline - ahead)

    def _paused_or_resumed(
        self, clock: ClockDefinition, state: ClockState, event: Event
    ) -> ClockState:
        if not clock.pause_states:
            return state
        entering = event.dest in clock.pause_states
        if state.status is ClockStatus.RUNNING and entering:
            return state.replace(status=ClockStatus.PAUSED, paused_at=event.at)
        if state.status is ClockStatus.PAUSED and not entering:
            assert state.paused_at is not None
            return state.replace(
                status=ClockStatus.RUNNING,
                paused_at=None,
                deadline=self._shifted(clock, state.deadline, state.paused_at, event.at),
                warning_at=(
                    None
                    if state.warning_at is None
                    else self._shifted(clock, state.warning_at, state.paused_at, event.at)
                ),
            )
        return state

    def _shifted(
        self, clock: ClockDefinition, when: datetime, paused_at: datetime, resumed_at: datetime
    ) -> datetime:
        calendar = self.calendars[clock.name]
        if clock.counts_working_time:
            paused = calendar.working_time_between(paused_at, resumed_at)
            return calendar.add_working_time(when, paused) if paused > timedelta(0) else when
        return when + (resumed_at - paused_at)

    def _marked(self, states: tuple[ClockState, ...], event: Event) -> tuple[ClockState, ...]:
        name = event.data.get("clock")
        clock = self.clocks.get(name) if isinstance(name, str) else None
        if clock is None:
            return states  # a clock the definition no longer has: history keeps it
        by_name = {state.name: state for state in states}
        state = by_name.get(clock.name)
        if state is None:
            return states
        if event.kind == WARNED:
            state = state.replace(warned=True)
        elif event.kind == BREACHED:
            state = state.replace(warned=True, breached=True)
        else:
            deadline = datetime.fromisoformat(event.data["deadline"])
            state = state.replace(
                deadline=deadline,
                warning_at=self._warning(clock, event.at, deadline),
                warned=False,
                breached=False,
                extensions=state.extensions + 1,
                # A deadline agreed during a pause is the one promised: only the rest
                # of the pause, from the agreement on, may move it further.
                paused_at=event.at if state.status is ClockStatus.PAUSED else state.paused_at,
            )
        by_name[clock.name] = state
        return self._ordered(by_name)

    def _ordered(self, by_name: Mapping[str, ClockState]) -> tuple[ClockState, ...]:
        return tuple(by_name[name] for name in self.clocks if name in by_name) + tuple(
            state for name, state in by_name.items() if name not in self.clocks
        )

    # -- questions -----------------------------------------------------------

    @staticmethod
    def due_at(states: Iterable[ClockState]) -> datetime | None:
        """The next moment a sweep has something to do: a warning or a deadline."""
        moments = []
        for state in states:
            if state.status is not ClockStatus.RUNNING or state.breached:
                continue
            moments.append(state.deadline)
            if state.warning_at is not None and not state.warned:
                moments.append(state.warning_at)
        return min(moments) if moments else None

    def deadline_if_resumed(self, state: ClockState, now: datetime) -> datetime | None:
        """The clock's deadline as it stands at ``now``.

        A running clock's deadline; a paused clock's deadline if it resumed at ``now``
        (its stored ``deadline`` is the one it had when it was paused, and moves later
        by the paused time, in the clock's own unit, when it resumes); ``None`` for a
        stopped clock or one this book does not define.
        """
        clock = self.clocks.get(state.name)
        if clock is None or state.status is ClockStatus.STOPPED:
            return None
        if state.status is ClockStatus.PAUSED and state.paused_at is not None:
            return self._shifted(clock, state.deadline, state.paused_at, max(now, state.paused_at))
        return state.deadline

    def due_actions(
        self, states: Iterable[ClockState], now: datetime
    ) -> list[tuple[ClockDefinition, ClockState, str]]:
        """What is due at ``now``: ``(clock, state, "breach" | "warning")`` per clock."""
        actions = []
        for state in states:
            clock = self.clocks.get(state.name)
            if clock is None or state.status is not ClockStatus.RUNNING or state.breached:
                continue
            if state.deadline <= now:
                actions.append((clock, state, "breach"))
            elif state.warning_at is not None and not state.warned and state.warning_at <= now:
                actions.append((clock, state, "warning"))
        return actions


def _duration(text: str, where: str, problems: list[str]) -> Duration | None:
    try:
        return Duration.parse(text)
    except CalendarError as exc:
        problems.append(f"{where}: {exc}")
        return None


def _as_timedelta(duration: Duration) -> timedelta:
    hours = {
        DurationUnit.WORKING_HOURS: 1,
        DurationUnit.HOURS: 1,
        DurationUnit.CALENDAR_DAYS: 24,
        DurationUnit.WEEKS: 24 * 7,
    }[duration.unit]
    return timedelta(hours=duration.amount * hours)


def _not_shorter(warn: Duration, duration: Duration) -> bool:
    """Whether a warning lead time is at least the whole duration (a definition mistake)."""
    if duration.unit is DurationUnit.WORKING_DAYS:
        return False  # hours before a days deadline: checked when the clock runs
    if warn.unit is DurationUnit.WORKING_HOURS and duration.unit is not DurationUnit.WORKING_HOURS:
        return False
    return _as_timedelta(warn) >= _as_timedelta(duration)
