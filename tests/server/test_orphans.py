"""Upload folders no submission owns are removed once silent long enough; nothing else is touched.
Real migrated SQLite, real folders."""

import os

from server.services.competitions import get_phase_by_path
from server.services.orphans import sweep_orphan_uploads
from server.services.storage import Storage
from server.services.teams import create_team
from tests.server.test_leaderboard_cache import scored

NOW = 1_800_000_000.0
HOUR = 3600


def upload_folder(storage: Storage, name: str, age_s: float) -> None:
    folder = storage.upload_dir(name)
    folder.mkdir(parents=True)
    (folder / "submission.zip").write_bytes(b"PK")
    for path in (folder / "submission.zip", folder):
        os.utime(path, (NOW - age_s, NOW - age_s))


def test_only_silent_folders_without_a_submission_go(session, tmp_path):
    storage = Storage(tmp_path / "data")
    team, _ = create_team(session, "alpha")
    scored(session, get_phase_by_path(session, "aim2019/validation"), team, "owned", 30.0)
    upload_folder(storage, "owned", age_s=48 * HOUR)
    upload_folder(storage, "killed-mid-upload", age_s=2 * HOUR)
    upload_folder(storage, "uploading-now", age_s=60)
    (storage.root / "uploads" / "stray-file").write_bytes(b"")
    (storage.root / "uploads" / "link").symlink_to(storage.upload_dir("owned"))

    removed = sweep_orphan_uploads(session, storage, HOUR, clock=lambda: NOW)

    assert removed == ["killed-mid-upload"]
    left = sorted(p.name for p in (storage.root / "uploads").iterdir())
    assert left == ["link", "owned", "stray-file", "uploading-now"]
    assert (storage.upload_path("owned")).read_bytes() == b"PK"


def test_a_fresh_file_in_an_old_folder_keeps_it(session, tmp_path):
    storage = Storage(tmp_path / "data")
    upload_folder(storage, "still-writing", age_s=5 * HOUR)
    os.utime(storage.upload_path("still-writing"), (NOW - 10, NOW - 10))
    assert sweep_orphan_uploads(session, storage, HOUR, clock=lambda: NOW) == []


def test_no_uploads_folder_yet(session, tmp_path):
    assert sweep_orphan_uploads(session, Storage(tmp_path / "none"), HOUR) == []
