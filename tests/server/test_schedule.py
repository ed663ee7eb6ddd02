"""Phase dates: when a phase takes submissions, and what a team is told outside them."""

from datetime import datetime, timedelta, timezone

import httpx
import numpy as np
import pytest

from bench.stack import photo_like, png_bytes

from server.services.audit import audit_events
from server.services.competitions import get_phase_by_path
from server.services.errors import Forbidden, ServiceError
from server.services.schedule import phase_window, set_schedule
from server.services.submissions import check_phase_accepts

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def test_window_before_during_and_after(session):
    phase = get_phase_by_path(session, "aim2019/test")
    set_schedule(session, phase, "cli:alice", NOW + timedelta(days=2, hours=3), NOW + timedelta(days=9))
    before = phase_window(phase, NOW)
    assert not before.open and before.reason == "phase aim2019/test opens at 2026-12-02T15:00:00Z (in 2 days 3 hours)"
    during = phase_window(phase, NOW + timedelta(days=8, hours=23, minutes=50))
    assert during.open and during.time_left == timedelta(minutes=10)
    after = phase_window(phase, NOW + timedelta(days=9, minutes=1))
    assert not after.open and after.reason == "phase aim2019/test closed at 2026-12-09T12:00:00Z (1 minute ago)"
    phase.is_open = False  # the organizer's switch wins over the dates
    assert phase_window(phase, NOW + timedelta(days=3)).reason == "phase aim2019/test is closed"
    event = audit_events(session, "aim2019/test")[0]
    assert event.action == "phase.schedule" and event.details["after"]["closes_at"] == "2026-12-09T12:00:00Z"


def test_uploads_are_refused_outside_the_dates_with_when(session):
    phase = get_phase_by_path(session, "aim2019/test")
    phase.image_count = 4
    set_schedule(session, phase, "cli:alice", None, datetime.now(timezone.utc) - timedelta(hours=1))
    with pytest.raises(Forbidden, match=r"closed at \d{4}-\d\d-\d\dT.*Z \(1 hour ago\)"):
        check_phase_accepts(phase)
    set_schedule(session, phase, "cli:alice", None, None, clear_closes=True)
    check_phase_accepts(phase)


def test_nonsense_dates_are_refused(session):
    phase = get_phase_by_path(session, "aim2019/test")
    with pytest.raises(ServiceError, match="no time zone"):
        set_schedule(session, phase, "cli:alice", datetime(2026, 12, 1), None)
    with pytest.raises(ServiceError, match="close .* before it opens"):
        set_schedule(session, phase, "cli:alice", NOW, NOW - timedelta(days=1))
    set_schedule(session, phase, "cli:alice", NOW, None)
    with pytest.raises(ServiceError, match="before it opens"):  # against the date already set
        set_schedule(session, phase, "cli:alice", None, NOW - timedelta(seconds=1))


def test_inputs_are_withheld_until_the_opening_date(cli, api, tmp_path):
    """A test phase opening 39 days later served its LR inputs at once."""
    (tmp_path / "hr").mkdir()
    (tmp_path / "hr" / "0801.png").write_bytes(png_bytes(photo_like(np.random.default_rng(2), 32, 48)))
    cli("dataset", "import", "--phase", "aim2019/test", "--hr", str(tmp_path / "hr"))
    opens = (datetime.now(timezone.utc) + timedelta(days=39)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cli("phase", "schedule", "aim2019/test", "--opens", opens)
    base = f"{api}/api/v1/phases/aim2019/test"
    for path in ("/inputs.zip", "/inputs", "/inputs/0801x4.png"):
        refused = httpx.get(base + path)
        assert refused.status_code == 403, path
        assert refused.json()["detail"].startswith(f"phase aim2019/test opens at {opens} (in 38 days 23 hours")
    cli("phase", "schedule", "aim2019/test", "--opens", "none")
    assert httpx.get(base + "/inputs").json() == ["0801x4.png"]
    assert httpx.get(base + "/inputs.zip").status_code == 200


def test_phase_open_before_the_opening_date_says_it_is_not_open(cli):
    opens = (datetime.now(timezone.utc) + timedelta(days=39)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cli("phase", "schedule", "aim2019/test", "--opens", opens)
    cli("phase", "close", "aim2019/test")
    told = " ".join(cli("phase", "open", "aim2019/test").stdout.split())
    assert told.startswith(f"aim2019/test is not open yet: phase aim2019/test opens at {opens}")
    assert "--opens none` opens it now" in told and " is open" not in told
    cli("phase", "schedule", "aim2019/test", "--opens", "none")
    assert " ".join(cli("phase", "open", "aim2019/test").stdout.split()) == "aim2019/test is open"
