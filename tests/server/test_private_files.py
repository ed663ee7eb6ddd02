"""The data dir and the SQLite database are readable by their owner only, whatever the umask."""

import os
import stat

from server.migrate import upgrade_database
from server.services.storage import Storage


def test_data_dir_and_database_are_private(tmp_path):
    old_umask = os.umask(0o022)
    try:
        root = tmp_path / "var"
        Storage(root).ensure_layout()
        upgrade_database(f"sqlite:///{root / 'srchallenge.db'}")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    files = [p for p in root.iterdir() if p.name.startswith("srchallenge.db")]
    assert files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name
