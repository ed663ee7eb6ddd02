"""Engine and session factory, built from settings on first use (never at import time)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from server.config import get_settings

OUTAGE_ERRORS = (OperationalError, InterfaceError, PoolTimeout)
"""What a query raises when the database is unreachable or has no connection to spare."""


def make_engine(url: str, pool_size: int = 15, pool_timeout_s: float = 30.0, connect_timeout_s: int = 10) -> Engine:
    """``pool_size`` connections at most (no overflow): the API sizes its thread pool to match.
    A PostgreSQL connection is given up after ``connect_timeout_s`` without an answer."""
    pool = {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": pool_timeout_s}
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # WAL lets the API read while a worker writes; foreign keys are off by default.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, connect_args=libpq_defaults(url, connect_timeout_s), **pool)


def libpq_defaults(url: str, connect_timeout_s: int) -> dict:
    """libpq's timeouts for the drivers built on it (psycopg2, psycopg 3), each unless the URL sets
    it: connecting is given up after ``connect_timeout_s``; keepalives notice a vanished host while
    idle, and ``tcp_user_timeout`` (60 s) while a query's bytes go unacknowledged. A server that
    acknowledges but never answers a query is not bounded here (libpq has no read timeout)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or parsed.get_driver_name() not in ("psycopg2", "psycopg"):
        return {}
    defaults = {"connect_timeout": connect_timeout_s, "keepalives": 1, "keepalives_idle": 30,
                "keepalives_interval": 10, "keepalives_count": 3, "tcp_user_timeout": 60_000}
    return {name: value for name, value in defaults.items() if name not in parsed.query}


def _private_sqlite_file(url: str) -> None:
    """Create the database file readable by its owner only (SQLite gives its WAL and shared-memory
    files the same mode); an existing one loses its group and other bits."""
    path = url.removeprefix("sqlite:///")
    if (path == url or path.startswith((":memory:", "file:")) or "?" in path
            or not os.path.isdir(os.path.dirname(os.path.abspath(path)))):
        return
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    mode = os.stat(path).st_mode
    if mode & 0o077:
        os.chmod(path, mode & 0o700)


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    return make_engine(settings.sqlalchemy_url, settings.db_pool_size, settings.db_pool_timeout_seconds,
                       settings.db_connect_timeout_seconds)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error (CLI, worker)."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def database_answers() -> bool:
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except OperationalError:
        return False


def explain_database_error(err: OperationalError) -> str:
    """For an organizer: a server that is down is not a schema that is missing (password hidden)."""
    url = make_url(get_settings().sqlalchemy_url).render_as_string(hide_password=True)
    if not url.startswith("sqlite") and not database_answers():
        return f"the database at {url} is not answering ({str(err.orig).strip()}): is its server running?"
    return (f"cannot use the database at {url}: {str(err.orig).strip()}. Run `srchallenge db upgrade` first, "
            "or check SRCHALLENGE_DATABASE_URL.")
