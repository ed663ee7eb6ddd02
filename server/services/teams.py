"""Teams and their API tokens. Only a SHA-256 of a token is stored: tokens are 256-bit random,
so a fast hash is enough (no password stretching needed) and lookups stay one indexed query."""

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Team
from server.services.errors import Conflict, NotFound

TEAM_TOKEN_PREFIX = "srt_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str = TEAM_TOKEN_PREFIX) -> str:
    return prefix + secrets.token_urlsafe(32)


def create_team(session: Session, name: str) -> tuple[Team, str]:
    name = name.strip()
    if not name or len(name) > 100:
        raise Conflict("a team name has 1 to 100 characters")
    if session.scalar(select(Team).where(Team.name == name)):
        raise Conflict(f"team {name!r} already exists")
    token = new_token()
    team = Team(name=name, token_hash=hash_token(token))
    session.add(team)
    session.flush()
    return team, token


def get_team(session: Session, name: str) -> Team:
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise NotFound(f"no team {name!r}")
    return team


def team_for_token(session: Session, token: str) -> Team | None:
    if not token.startswith(TEAM_TOKEN_PREFIX):
        return None
    team = session.scalar(select(Team).where(Team.token_hash == hash_token(token)))
    return team if team is not None and not team.disabled else None


def rotate_token(session: Session, team: Team) -> str:
    token = new_token()
    team.token_hash = hash_token(token)
    return token


def list_teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.name)))
