"""When a phase takes submissions: the organizer's open/close switch and its dates (CodaLab's
phase start and end). An upload is checked against both when it starts and again when it has
arrived, so a 2 GiB upload begun a minute before the deadline is refused if it ends after it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session

from server.models import Phase, utcnow
from server.services.audit import record_event
from server.services.errors import ServiceError


@dataclass(frozen=True)
class PhaseWindow:
    """Whether a phase takes submissions now, and why not (``reason`` is for the team)."""

    open: bool
    reason: str | None
    opens_at: datetime | None
    closes_at: datetime | None
    time_left: timedelta | None
    """Until the phase closes, while it is open and has a closing date."""


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def when(moment: datetime) -> str:
    """An instant as the team reads it: ISO 8601 in UTC."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(span: timedelta) -> str:
    """Roughly, the two largest units: "3 days 4 hours", "12 minutes"."""
    seconds = int(abs(span.total_seconds()))
    parts = [(seconds // 86400, "day"), (seconds % 86400 // 3600, "hour"), (seconds % 3600 // 60, "minute")]
    shown = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n][:2]
    return " ".join(shown) or f"{seconds} seconds"


def phase_window(phase: Phase, now: datetime | None = None) -> PhaseWindow:
    now = _utc(now) or utcnow()
    opens, closes = _utc(phase.opens_at), _utc(phase.closes_at)
    reason = None
    if not phase.is_open:
        reason = f"phase {phase.path} is closed"
    elif opens is not None and now < opens:
        reason = f"phase {phase.path} opens at {when(opens)} (in {duration(opens - now)})"
    elif closes is not None and now >= closes:
        reason = f"phase {phase.path} closed at {when(closes)} ({duration(now - closes)} ago)"
    left = closes - now if reason is None and closes is not None else None
    return PhaseWindow(reason is None, reason, opens, closes, left)


def inputs_withheld(phase: Phase, now: datetime | None = None) -> str | None:
    """Why the phase's LR inputs are not served yet, or None: they are published when the phase
    opens by its date, never before (a test set's inputs weeks early are weeks to tune on them).
    The switch alone withholds nothing: a phase closed after its end keeps its inputs public."""
    now = _utc(now) or utcnow()
    opens = _utc(phase.opens_at)
    if opens is not None and now < opens:
        return (f"phase {phase.path} opens at {when(opens)} (in {duration(opens - now)}); "
                "its LR inputs are published then")
    return None


def set_schedule(session: Session, phase: Phase, actor: str, opens_at: datetime | None,
                 closes_at: datetime | None, clear_opens: bool = False, clear_closes: bool = False) -> PhaseWindow:
    """Set (or with ``clear_*`` remove) a phase's dates; those left out stay. Times without a zone
    are refused: an organizer's local midnight and UTC midnight are hours apart."""
    for name, value in (("--opens", opens_at), ("--closes", closes_at)):
        if value is not None and value.tzinfo is None:
            raise ServiceError(f"{name} {value.isoformat()} has no time zone: add Z (UTC) or an offset like +02:00")
    before = {"opens_at": phase.opens_at, "closes_at": phase.closes_at}
    opens = None if clear_opens else (_utc(opens_at) if opens_at is not None else _utc(phase.opens_at))
    closes = None if clear_closes else (_utc(closes_at) if closes_at is not None else _utc(phase.closes_at))
    if opens is not None and closes is not None and closes <= opens:
        raise ServiceError(f"the phase would close ({when(closes)}) before it opens ({when(opens)})")
    phase.opens_at, phase.closes_at = opens, closes
    shown = {k: when(v) if v else None for k, v in (("opens_at", opens), ("closes_at", closes))}
    record_event(session, actor, "phase.schedule", phase.path,
                 f"schedule of {phase.path}: opens {shown['opens_at'] or 'any time'}, "
                 f"closes {shown['closes_at'] or 'never'}",
                 {"before": {k: when(v) if v else None for k, v in before.items()}, "after": shown})
    return phase_window(phase)
