"""Organizers and their API tokens, the key to ``/api/v1/admin``.

Tokens are hashed like team tokens (see teams.py) but carry their own prefix, ``sro_``: a lookup
checks the prefix first, so an organizer token never opens a team's door, nor the reverse.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Organizer, utcnow
from server.services.errors import Conflict, NotFound
from server.services.teams import hash_token, new_token

ORGANIZER_TOKEN_PREFIX = "sro_"


def create_organizer(session: Session, name: str) -> tuple[Organizer, str]:
    """A new organizer, or a fresh token for a revoked one (the name is reused, history kept)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise Conflict("an organizer name has 1 to 100 characters")
    token = new_token(ORGANIZER_TOKEN_PREFIX)
    organizer = session.scalar(select(Organizer).where(Organizer.name == name))
    if organizer is not None and organizer.revoked_at is None:
        raise Conflict(f"organizer {name!r} already exists; revoke it first to issue a new token")
    if organizer is None:
        organizer = Organizer(name=name, token_hash=hash_token(token))
        session.add(organizer)
    else:
        organizer.token_hash, organizer.revoked_at = hash_token(token), None
    session.flush()
    return organizer, token


def revoke_organizer(session: Session, name: str) -> Organizer:
    organizer = session.scalar(select(Organizer).where(Organizer.name == name))
    if organizer is None:
        raise NotFound(f"no organizer {name!r}")
    if organizer.revoked_at is None:
        organizer.revoked_at = utcnow()
    return organizer


def organizer_for_token(session: Session, token: str) -> Organizer | None:
    if not token.startswith(ORGANIZER_TOKEN_PREFIX):
        return None
    organizer = session.scalar(select(Organizer).where(Organizer.token_hash == hash_token(token)))
    return organizer if organizer is not None and organizer.revoked_at is None else None


def list_organizers(session: Session) -> list[Organizer]:
    return list(session.scalars(select(Organizer).order_by(Organizer.name)))
