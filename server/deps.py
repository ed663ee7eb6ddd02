"""Dependencies as Annotated aliases, so every route signature reads like a sentence."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from server.config import Settings, get_settings
from server.db import get_sessionmaker
from server.models import Organizer, Phase, Team
from server.services.competitions import get_phase
from server.services.errors import Forbidden, Unauthorized
from server.services.organizers import organizer_for_token
from server.services.teams import TEAM_TOKEN_PREFIX, team_for_token


def get_session() -> Iterator[Session]:
    session = get_sessionmaker()()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def release_connection(session: Session) -> None:
    """End a dependency's read transaction, so its pooled connection goes back before the route's
    own thread-pool step: a connection is then held only while a thread runs, and a pool as large
    as the thread pool (server/main.py) never makes a thread wait for one. Loaded objects stay
    usable (the session does not expire them on commit)."""
    session.commit()
SettingsDep = Annotated[Settings, Depends(get_settings)]


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def note_token(request: Request, token: str, client_key: str | None) -> None:
    """Tell the rate limiter whose token this is (server/ratelimit.py), or that it failed."""
    known = getattr(request.app.state, "known_tokens", None)
    if known is None:
        return
    if client_key:
        known.remember(token, client_key)
    else:
        known.forget(token)


def current_team(request: Request, session: SessionDep) -> Team:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("send your team token as 'Authorization: Bearer <token>'",
                           headers={"WWW-Authenticate": "Bearer"})
    team = team_for_token(session, token)
    note_token(request, token, f"team:{team.id}" if team else None)
    if team is None:
        raise Unauthorized("unknown or revoked team token", headers={"WWW-Authenticate": "Bearer"})
    release_connection(session)
    return team


TeamDep = Annotated[Team, Depends(current_team)]


def current_organizer(request: Request, session: SessionDep) -> Organizer:
    """Only an ``sro_`` organizer token opens the admin API; a team token is refused by its prefix."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("send an organizer token as 'Authorization: Bearer <token>'",
                           headers={"WWW-Authenticate": "Bearer"})
    if token.startswith(TEAM_TOKEN_PREFIX):
        raise Forbidden("a team token cannot use the organizer API")
    organizer = organizer_for_token(session, token)
    note_token(request, token, f"organizer:{organizer.id}" if organizer else None)
    if organizer is None:
        raise Unauthorized("unknown or revoked organizer token", headers={"WWW-Authenticate": "Bearer"})
    release_connection(session)
    return organizer


OrganizerDep = Annotated[Organizer, Depends(current_organizer)]


def phase_from_path(competition: str, phase: str, session: SessionDep) -> Phase:
    found = get_phase(session, competition, phase)
    release_connection(session)
    return found


PhaseDep = Annotated[Phase, Depends(phase_from_path)]
