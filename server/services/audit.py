"""The audit log: who changed what a board is ranked against (baselines, bundles, data, schedules).

Written in the same transaction as the change it describes, so a change that rolls back leaves no
entry and an applied one always has its entry.
"""

import getpass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import AuditEvent


def local_actor() -> str:
    """Who runs a command on this machine's database: its login name (the CLI has no other identity)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def record_event(session: Session, actor: str, action: str, target: str, summary: str,
                 details: dict[str, Any] | None = None) -> AuditEvent:
    event = AuditEvent(actor=actor, action=action, target=target, summary=summary, details=details or {})
    session.add(event)
    return event


def audit_events(session: Session, target: str | None = None, limit: int = 200) -> list[AuditEvent]:
    """Newest first; ``target`` matches a competition slug (and all its phases) or one phase path."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if target:
        query = query.where((AuditEvent.target == target) | AuditEvent.target.startswith(f"{target}/"))
    return list(session.scalars(query))
