"""Where files live under the data dir. One small interface so an object store could replace it.

Layout (all under ``SRCHALLENGE_DATA_DIR``)::

    uploads/<submission public id>/submission.zip    what the team uploaded, kept as received
    private/<competition>/<phase>/hr/<key>.npy       hidden HR, decoded once (mode 0700 tree)
    public/<competition>/<phase>/lr/<key>x4.png      LR inputs participants download
    work/<submission public id>/                     scratch space of a scoring run
"""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from server.config import Settings


@dataclass(frozen=True)
class Storage:
    root: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> "Storage":
        return cls(settings.resolved_data_dir)

    def upload_dir(self, public_id: str) -> Path:
        return self.root / "uploads" / public_id

    def upload_path(self, public_id: str) -> Path:
        return self.upload_dir(public_id) / "submission.zip"

    def hr_dir(self, competition: str, phase: str) -> Path:
        return self.root / "private" / competition / phase / "hr"

    def lr_dir(self, competition: str, phase: str) -> Path:
        return self.root / "public" / competition / phase / "lr"

    def work_dir(self, public_id: str) -> Path:
        return self.root / "work" / public_id

    def ensure_layout(self) -> None:
        """Create the top folders; the data dir and the private tree are its owner's only."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        for name in ("uploads", "public", "work"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        private = self.root / "private"
        private.mkdir(parents=True, exist_ok=True)
        os.chmod(private, 0o700)

    def remove_work_dir(self, public_id: str) -> None:
        shutil.rmtree(self.work_dir(public_id), ignore_errors=True)
