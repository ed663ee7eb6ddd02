"""Browser sessions: what a forged, stale or revoked cookie gets (nothing), and CSRF tokens per session."""

import os
import stat
import threading

import pytest

from server.config import Settings
from server.services.web_session import (SESSION_MAX_AGE_S, SessionClaims, csrf_token, csrf_valid,
                                         persisted_secret, server_secret, sign_session, verify_session)

SECRET = b"s" * 48
NOW = 1_700_000_000


def claims(team_id: int | None = 7) -> SessionClaims:
    return SessionClaims(team_id, "nonce-abc_123", NOW)


def test_a_signed_session_verifies_and_holds_no_token():
    cookie = sign_session(SECRET, claims(), token_hash="h" * 64)
    assert verify_session(SECRET, cookie, "h" * 64, now=NOW + 10) == claims()
    assert "h" * 16 not in cookie and cookie.startswith("7.nonce-abc_123.")


@pytest.mark.parametrize("tamper", [
    lambda c: "8" + c[1:],                       # another team's id
    lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),  # forged signature
    lambda c: c.rsplit(".", 1)[0],               # signature dropped
    lambda c: "",
    lambda c: "not.a.cookie.at.all",
])
def test_tampered_cookies_are_refused(tamper):
    assert verify_session(SECRET, tamper(sign_session(SECRET, claims(), "h")), "h", now=NOW) is None


def test_another_secret_expiry_and_token_rotation_end_a_session():
    cookie = sign_session(SECRET, claims(), "old-hash")
    assert verify_session(b"t" * 48, cookie, "old-hash", now=NOW) is None
    assert verify_session(SECRET, cookie, "old-hash", now=NOW + SESSION_MAX_AGE_S + 1) is None
    assert verify_session(SECRET, cookie, "new-hash", now=NOW) is None


def test_csrf_tokens_are_per_session():
    first, second = claims(), SessionClaims(7, "another-nonce", NOW)
    token = csrf_token(SECRET, first)
    assert csrf_valid(SECRET, first, token)
    assert not csrf_valid(SECRET, second, token)
    assert not csrf_valid(SECRET, first, "")
    assert SessionClaims.fresh(7).nonce != SessionClaims.fresh(7).nonce


def test_the_generated_secret_is_private_and_shared(tmp_path):
    path = tmp_path / "secret_key"
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(persisted_secret.__wrapped__(path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and len(results[0]) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]
    assert server_secret(Settings(data_dir=tmp_path)) == results[0]
    assert server_secret(Settings(data_dir=tmp_path, secret_key="configured")) == b"configured"
