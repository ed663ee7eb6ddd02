"""Signed browser sessions and CSRF tokens for the team pages.

The cookie never holds a team token: only a team id (empty before login), a random nonce and the
issue time, signed with HMAC-SHA256 under a server secret. The signature also covers the team's
current token hash, so rotating a team's token ends its browser sessions, and a disabled team's
session no longer loads. A form's CSRF token is an HMAC of the session nonce: one per session,
checked on every POST; the cookie is also SameSite=Strict, so other sites never send it.
"""

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from server.config import Settings
from server.models import Team

SESSION_COOKIE = "srchallenge_session"
SESSION_MAX_AGE_S = 7 * 24 * 3600
SECRET_FILE = "secret_key"
CLOCK_SKEW_S = 60
"""How far in the future an issue time may lie: API processes on several hosts need not agree to the second."""


@dataclass(frozen=True)
class SessionClaims:
    team_id: int | None
    nonce: str
    issued_at: int

    @classmethod
    def fresh(cls, team_id: int | None = None, now: float | None = None) -> "SessionClaims":
        """A new nonce on every login and logout, so a CSRF token seen before login is useless after."""
        return cls(team_id, secrets.token_urlsafe(18), int(time.time() if now is None else now))


@dataclass(frozen=True)
class WebSession:
    claims: SessionClaims
    team: Team | None
    csrf: str
    cookie: str
    is_new: bool
    """True when the browser sent no valid cookie: the response must set ``cookie``."""


def sign_session(secret: bytes, claims: SessionClaims, token_hash: str = "") -> str:
    body = f"{claims.team_id or ''}.{claims.nonce}.{claims.issued_at}"
    return f"{body}.{_mac(secret, 'session', body, token_hash)}"


def verify_session(secret: bytes, cookie: str, token_hash: str = "", now: float | None = None) -> SessionClaims | None:
    """The claims of a cookie signed under ``secret`` for ``token_hash`` and not expired, else None."""
    claims = unverified_claims(cookie)
    if claims is None:
        return None
    age = (time.time() if now is None else now) - claims.issued_at
    expected = sign_session(secret, claims, token_hash)
    if not -CLOCK_SKEW_S <= age <= SESSION_MAX_AGE_S or not hmac.compare_digest(expected.encode(), cookie.encode()):
        return None
    return claims


def unverified_claims(cookie: str) -> SessionClaims | None:
    """Parse only: the team id tells which token hash the signature must cover."""
    parts = cookie.split(".")
    if len(parts) != 4 or not parts[2].isdigit() or not (parts[0] == "" or parts[0].isdigit()):
        return None
    return SessionClaims(int(parts[0]) if parts[0] else None, parts[1], int(parts[2]))


def csrf_token(secret: bytes, claims: SessionClaims) -> str:
    return _mac(secret, "csrf", claims.nonce)


def csrf_valid(secret: bytes, claims: SessionClaims, submitted: str) -> bool:
    return hmac.compare_digest(csrf_token(secret, claims).encode(), submitted.encode())


def new_web_session(secret: bytes, team: Team | None = None) -> WebSession:
    claims = SessionClaims.fresh(team.id if team else None)
    return WebSession(claims, team, csrf_token(secret, claims),
                      sign_session(secret, claims, team.token_hash if team else ""), is_new=True)


def load_web_session(db: Session, secret: bytes, cookie: str | None) -> WebSession:
    """The browser's session if its cookie is valid and its team still active, else a fresh anonymous one."""
    claims = unverified_claims(cookie) if cookie else None
    if claims is None:
        return new_web_session(secret)
    team = db.get(Team, claims.team_id) if claims.team_id is not None else None
    if claims.team_id is not None and (team is None or team.disabled):
        return new_web_session(secret)
    if verify_session(secret, cookie, team.token_hash if team else "") is None:
        return new_web_session(secret)
    return WebSession(claims, team, csrf_token(secret, claims), cookie, is_new=False)


def server_secret(settings: Settings) -> bytes:
    """``SRCHALLENGE_SECRET_KEY``, or else a key generated once and kept in the data dir."""
    if settings.secret_key:
        return settings.secret_key.encode()
    return persisted_secret(settings.resolved_data_dir / SECRET_FILE)


@lru_cache
def persisted_secret(path: Path) -> bytes:
    """Created atomically (link of a finished 0600 file), so concurrent API processes agree on one key
    and restarts keep sessions valid."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_urlsafe(48).encode())
        finally:
            os.close(fd)
        try:
            os.link(scratch, path)
        except FileExistsError:
            pass
        finally:
            scratch.unlink()
    secret = path.read_bytes().strip()
    if len(secret) < 32:
        raise RuntimeError(f"{path} holds a secret shorter than 32 bytes; delete it to generate a new one")
    return secret


def _mac(secret: bytes, purpose: str, *parts: str) -> str:
    digest = hmac.new(secret, "|".join((purpose, *parts)).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
