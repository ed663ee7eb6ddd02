"""The platform's log lines carry their context (submission id, run…), as JSON or as text."""

import json
import logging

import pytest

from server.logs import configure_logging

log = logging.getLogger("srchallenge.test")


@pytest.fixture(autouse=True)
def restore_logger():
    logger = logging.getLogger("srchallenge")
    saved = logger.handlers[:], logger.level, logger.propagate
    yield
    logger.handlers, logger.level, logger.propagate = saved[0], saved[1], saved[2]


def test_json_lines_hold_the_message_and_the_context(capsys):
    configure_logging("json")
    log.info("submission %s scored", "abc", extra={"submission": "abc", "run": 7, "status": "scored"})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("run crashed", extra={"run": 8})
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert first["message"] == "submission abc scored" and first["level"] == "INFO"
    assert (first["submission"], first["run"], first["status"]) == ("abc", 7, "scored")
    assert first["logger"] == "srchallenge.test" and "timestamp" in first
    assert second["run"] == 8 and "RuntimeError: boom" in second["exc_info"]


def test_text_lines_append_the_context(capsys):
    configure_logging("text")
    log.warning("queued again", extra={"submission": "abc", "run": 7})
    log.info("no context")
    first, second = capsys.readouterr().err.splitlines()
    assert first.endswith("WARNING srchallenge.test: queued again [submission=abc run=7]")
    assert second.endswith("INFO srchallenge.test: no context")


def test_configuring_twice_keeps_one_handler(capsys):
    configure_logging("text")
    configure_logging("json")
    log.info("once")
    assert len(capsys.readouterr().err.splitlines()) == 1
