"""A PostgreSQL server that accepts connections but never answers is given up, not waited on for ever."""

import socket
import threading
import time

from sqlalchemy.exc import OperationalError

from server.db import make_engine


def test_a_database_that_never_answers_fails_within_the_connect_timeout():
    """Before: no timeout, so a stuck server (or a half-stopped one) froze the worker's heartbeat,
    its reaper and its save for as long as the server stayed silent."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nothing ever reads or answers
    port = silent.getsockname()[1]
    engine = make_engine(f"postgresql+psycopg2://srchallenge@127.0.0.1:{port}/srchallenge", pool_size=1, connect_timeout_s=2)
    outcome = {}

    def connect() -> None:
        started = time.monotonic()
        try:
            engine.connect().close()
        except OperationalError as err:
            outcome["error"] = err
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout=30)
    silent.close()
    engine.dispose()
    assert not thread.is_alive(), "the connection attempt was still waiting after 30 s"
    assert "error" in outcome and outcome["seconds"] < 10, outcome
    assert "timeout" in str(outcome["error"]).lower()



def test_the_urls_own_parameters_win_and_other_drivers_get_none():
    from server.db import libpq_defaults

    assert libpq_defaults("postgresql+psycopg2://u@h/db", 10)["connect_timeout"] == 10
    assert "connect_timeout" not in libpq_defaults("postgresql+psycopg2://u@h/db?connect_timeout=60", 10)
    assert libpq_defaults("postgresql+pg8000://u@h/db", 10) == {}  # no libpq: the options would be a TypeError
    assert libpq_defaults("sqlite:///x.db", 10) == {}
