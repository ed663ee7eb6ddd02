"""``baseline measure`` and ``audit`` with ``--server URL --token T``: through the organizer API,
in-process on a fresh embedded deployment (SQLite, filesystem broker, no worker), so a queued
measurement stays queued and its message waits in the broker folder."""

import json

from sqlalchemy import select

from bench.stack import free_port
from server.config import get_settings
from server.db import get_sessionmaker
from server.models import BaselineRecord, Phase
from server.queue import get_celery


def remote_options(cli, api) -> tuple[str, ...]:
    token = json.loads(cli("organizer", "create", "ops", "--json").stdout)["token"]
    return "--server", api, "--token", token


def give_inputs(*phases: str) -> None:
    """Mark the phases as holding LR inputs (a measurement needs some; nothing here times them)."""
    with get_sessionmaker()() as db:
        for phase in db.scalars(select(Phase).where(Phase.slug.in_(phases))):
            phase.image_count = 4
        db.commit()


def record(version: int) -> BaselineRecord:
    with get_sessionmaker()() as db:
        return db.get(BaselineRecord, version)


def test_baseline_measure_queues_over_the_api_and_waits_on_its_history(cli, api):
    remote = remote_options(cli, api)
    assert "(409): phase aim2019/test has no LR inputs" in cli.said("baseline", "measure", "--phase", "aim2019/test",
                                                                   *remote)
    give_inputs("validation", "test")

    # --wait follows the record through the history route; nothing measures here, so it times out
    said = cli.said("baseline", "measure", "--phase", "aim2019/validation", "--wait", "--timeout", "1", *remote)
    assert "still queued after 1 s" in said
    waited = record(int(said.split("measurement #")[1].split()[0]))
    assert (waited.status, waited.actor, waited.force) == ("queued", "organizer:ops", False)

    queued = json.loads(cli("baseline", "measure", "--phase", "aim2019/test", "--force", *remote, "--json").stdout)
    assert (queued["source"], queued["status"], queued["actor"]) == ("measure", "queued", "organizer:ops")
    assert record(queued["version"]).force is True
    waiting = {q["name"]: q["waiting"] for q in json.loads(cli("status", *remote, "--json").stdout)["queues"]}
    assert waiting == {"scoring": 0, "gpu": 2}
    assert json.loads(cli("baseline", "history", "aim2019/test", *remote, "--json").stdout)[-1] == queued
    again = cli.said("baseline", "measure", "--phase", "aim2019/test", *remote)
    assert f"(409): a baseline measurement of aim2019/test is already queued (#{queued['version']})" in again



def test_a_measurement_the_queue_cannot_take_ends_failed_instead_of_blocking_the_next(cli, api, monkeypatch):
    """It stayed queued with nobody to send it again, and every later measurement of the phase was
    refused as 'already queued' (the command ended in kombu's traceback)."""
    remote = remote_options(cli, api)
    give_inputs("test")
    monkeypatch.setenv("SRCHALLENGE_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
    get_settings.cache_clear()
    get_celery.cache_clear()
    assert "error: the queue could not be reached" in cli.said("baseline", "measure", "--phase", "aim2019/test")
    assert "(503): the queue could not be reached" in cli.said("baseline", "measure", "--phase", "aim2019/test",
                                                              *remote)
    history = json.loads(cli("baseline", "history", "aim2019/test", "--json").stdout)
    assert [(r["source"], r["status"]) for r in history] == [("bundle", "done"), ("measure", "failed"),
                                                             ("measure", "failed")]
    assert history[-1]["reason"].startswith("the queue could not be reached")

    monkeypatch.delenv("SRCHALLENGE_BROKER_URL")
    get_settings.cache_clear()
    get_celery.cache_clear()
    assert json.loads(cli("baseline", "measure", "--phase", "aim2019/test", "--json").stdout)["status"] == "queued"


def test_audit_over_the_api_reads_the_same_log(cli, api):
    remote = remote_options(cli, api)
    cli("baseline", "set", "aim2019/test", "--psnr", "31", *remote)
    cli("baseline", "set", "aim2019/validation", "--params", "1000")  # on this machine: cli:LOGIN
    log = json.loads(cli("audit", *remote, "--json").stdout)
    assert log == json.loads(cli("audit", "--json").stdout)
    assert [(e["action"], e["target"]) for e in log[:3]] == [
        ("baseline.set", "aim2019/validation"), ("baseline.set", "aim2019/test"), ("competition.create", "aim2019")]
    assert log[0]["actor"].startswith("cli") and log[1]["actor"] == "organizer:ops"
    assert log[1]["details"]["changed"] == {"psnr": [28.7, 31.0]}

    assert json.loads(cli("audit", "aim2019/test", *remote, "--json").stdout) == [log[1]]
    assert json.loads(cli("audit", "--limit", "1", *remote, "--json").stdout) == log[:1]
    assert "organizer:ops" in cli("audit", *remote).stdout
    assert "(401)" in cli.said("audit", "--server", api, "--token", "sro_nope")


def test_baseline_set_names_the_cli_options_and_sends_nothing_without_a_figure(cli, api):
    """The service's refusals name the figures (the API's callers read them too); the CLI says
    which of its options to give before asking anyone."""
    remote = remote_options(cli, api)
    for where in ((), remote):
        assert "give at least one of --psnr, --psnr-not-measured, --params, --runtime" in cli.said(
            "baseline", "set", "aim2019/test", *where)
        assert "--device names the device of a --runtime you give" in cli.said(
            "baseline", "set", "aim2019/test", "--psnr", "30", "--device", "NVIDIA H200", *where)
    assert "(400): give either a PSNR or the reason it is not measured" in cli.said(
        "baseline", "set", "aim2019/test", "--psnr", "30", "--psnr-not-measured", "x", *remote)
