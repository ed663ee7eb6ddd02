"""Upload folders that no submission owns, swept by the workers' reaper.

An API process killed in the middle of an upload leaves its folder behind: the submission row is
written only once the whole file is in (server/routes/submissions.py), and the process that would
have removed the folder is gone. Such a folder is removed once nothing in it has changed for
``orphan_upload_seconds``: a live upload writes at least every ``upload_idle_timeout_seconds`` or
is cut off, so an hour of silence cannot be an upload in progress.
"""

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Submission
from server.services.storage import Storage

_BATCH = 500


def _last_change(folder: Path) -> float:
    """The newest modification time of the folder and what is directly in it (links not followed)."""
    stamps = [folder.lstat().st_mtime]
    for entry in folder.iterdir():
        stamps.append(entry.lstat().st_mtime)
    return max(stamps)


def sweep_orphan_uploads(session: Session, storage: Storage, older_than_seconds: float,
                         clock: Callable[[], float] = time.time) -> list[str]:
    """Remove the silent upload folders that no submission owns; returns their names."""
    uploads = storage.root / "uploads"
    if not uploads.is_dir():
        return []
    deadline = clock() - older_than_seconds
    silent = [folder for folder in uploads.iterdir()
              if folder.is_dir() and not folder.is_symlink() and _last_change(folder) < deadline]
    removed = []
    for start in range(0, len(silent), _BATCH):
        batch = silent[start:start + _BATCH]
        owned = set(session.scalars(select(Submission.public_id).where(
            Submission.public_id.in_([folder.name for folder in batch]))))
        for folder in batch:
            if folder.name not in owned:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
    return removed
