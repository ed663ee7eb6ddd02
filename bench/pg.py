"""A throwaway PostgreSQL server for tests: initdb in a temporary folder, loopback only, trust auth.

Production runs on PostgreSQL while the other tests use SQLite; the two differ in types, time
zones and locking, so migrations and the end-to-end flow are also run here. Debian keeps the
server binaries off PATH (/usr/lib/postgresql/<version>/bin), hence the search. initdb refuses
to run as root, so as root the server runs as the ``postgres`` user that the package creates.
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg2

from bench.stack import free_port

SERVER_USER = "postgres"


def find_bin_dir() -> Path:
    """The folder holding initdb and pg_ctl: PATH first, else the newest Debian install."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    installed = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if not installed:
        raise RuntimeError("PostgreSQL is not installed (scripts/install.sh --test installs it)")
    return Path(installed[-1]).parent


class PostgresServer:
    def __init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="srchallenge-pg-"))
        self.port = free_port()
        self.user = pwd.getpwnam(SERVER_USER) if os.geteuid() == 0 else None
        if self.user:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run([str(self.bin_dir / tool), *args], capture_output=True, text=True, timeout=120,
                                user=self.user.pw_uid if self.user else None,
                                group=self.user.pw_gid if self.user else None)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> "PostgresServer":
        try:
            self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                      "--locale=C")
            self.resume()
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        return self

    def resume(self) -> None:
        """Start the server on its existing data (after ``pause``, or the first time)."""
        # fsync off: a crashed test server is thrown away anyway
        options = f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.root / "server.log"), "-o", options,
                  "-w", "-t", "60", "start")

    def pause(self) -> None:
        """Stop the server, keeping its data: an outage that ``resume`` ends."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")

    def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
