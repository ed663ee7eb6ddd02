"""The baseline's figures of a phase: set by hand, measured, versioned, restorable, audited."""

import pytest

from scoring.timing import Measurement
from server.models import BaselineRecord
from server.services.audit import audit_events
from server.services.baseline import (baseline_history, finish_measurement, revert_baseline, set_baseline,
                                      start_measurement)
from server.services.competitions import get_phase_by_path
from server.services.errors import Conflict, NotFound, ServiceError
from server.services.leaderboard import phase_baseline

PHASE = "aim2019/validation"


def test_set_changes_only_the_given_figures_keeps_every_version_and_goes_back(session):
    phase = get_phase_by_path(session, PHASE)
    assert [(r.source, r.psnr, r.params, r.runtime) for r in baseline_history(session, phase)] == [
        ("bundle", 29.0, 1517571, 0.13)]
    set_baseline(session, phase, "cli:alice", psnr=31.2)
    set_baseline(session, phase, "cli:alice", params=1_000_000, runtime=0.2, runtime_device="NVIDIA H200")
    figures = phase_baseline(phase)
    assert (figures.psnr, figures.params, figures.runtime) == (31.2, 1_000_000, 0.2)
    assert phase.baseline_runtime_device == "NVIDIA H200"
    history = baseline_history(session, phase)
    assert [(r.source, r.psnr, r.params, r.runtime) for r in history] == [
        ("bundle", 29.0, 1517571, 0.13), ("set", 31.2, 1517571, 0.13), ("set", 31.2, 1_000_000, 0.2)]
    revert_baseline(session, phase, "cli:bob")  # the version before the current one
    assert (phase.baseline_psnr, phase.baseline_params, phase.baseline_runtime) == (31.2, 1517571, 0.13)
    revert_baseline(session, phase, "cli:bob", to=history[0].id)
    assert (phase.baseline_psnr, phase.baseline_params, phase.baseline_runtime) == (29.0, 1517571, 0.13)
    assert phase.baseline_runtime_device is None
    with pytest.raises(NotFound):
        revert_baseline(session, phase, "cli:bob", to=10_000)
    events = audit_events(session, "aim2019")
    assert [(e.actor, e.action) for e in events[:4]] == [
        ("cli:bob", "baseline.revert"), ("cli:bob", "baseline.revert"), ("cli:alice", "baseline.set"),
        ("cli:alice", "baseline.set")]
    assert "psnr 29.0 → 31.2" in events[3].summary and events[3].target == PHASE
    assert events[0].details["changed"]["psnr"] == [31.2, 29.0]


def test_set_refuses_nonsense_and_another_device_class_unless_forced(session):
    phase = get_phase_by_path(session, PHASE)
    # found in review: inf was stored (every runtime ratio 0: every entry met the runtime constraint),
    # 10**20 parameters and a 300-character device were a 500 from the database
    for bad in ({}, {"psnr": -1.0}, {"params": 0}, {"runtime": 0.0}, {"psnr": 30.0, "psnr_not_measured": "x"},
                {"runtime_device": "NVIDIA H200"}, {"runtime": float("inf")}, {"runtime": float("nan")},
                {"psnr": float("nan")}, {"params": 10**20}, {"runtime": 0.1, "runtime_device": "G" * 300, "force": True},
                {"psnr_not_measured": "x" * 5000}):
        with pytest.raises(ServiceError) as refused:
            set_baseline(session, phase, "cli:alice", **bad)
        assert "--" not in refused.value.message, "the API's callers read it too: name the figure, not an option"
    with pytest.raises(ServiceError, match="give at least one figure: the PSNR, .* or the runtime"):
        set_baseline(session, phase, "cli:alice")
    with pytest.raises(ServiceError, match="give the runtime with it"):
        set_baseline(session, phase, "cli:alice", psnr=30.0, runtime_device="NVIDIA H200")
    with pytest.raises(Conflict, match="CPU.*GPU.*--force"):
        set_baseline(session, phase, "cli:alice", runtime=3.155, runtime_device="CPU: AMD EPYC")
    assert phase.baseline_runtime == 0.13
    set_baseline(session, phase, "cli:alice", runtime=3.155, runtime_device="CPU: AMD EPYC", force=True)
    assert phase.baseline_runtime == 3.155


def test_psnr_not_measured_is_shown_with_its_reason(session):
    phase = get_phase_by_path(session, PHASE)
    set_baseline(session, phase, "demo", psnr_not_measured="DIV2K figure; other photos here")
    figures = phase_baseline(phase)
    assert figures.psnr is None and figures.psnr_note == "DIV2K figure; other photos here"


def cpu_measurement(seconds: float) -> Measurement:
    return Measurement(trials=(seconds, seconds * 1.1, seconds * 1.05), device="CPU: test", images=2)


def queued(session, phase, force: bool) -> BaselineRecord:
    record = BaselineRecord(phase_id=phase.id, source="measure", status="queued", actor="cli:alice", force=force)
    session.add(record)
    session.commit()
    return record


def test_a_cpu_worker_refuses_a_gpu_phase_before_measuring_and_forced_keeps_the_device(session):
    phase = get_phase_by_path(session, PHASE)
    refused = queued(session, phase, force=False)
    assert start_measurement(session, refused.id, "w1@host", "cpu") is None
    assert refused.status == "refused" and "--force" in refused.reason and "device is a CPU" in refused.reason
    assert start_measurement(session, refused.id, "w1@host", "cpu") is None  # a duplicate delivery
    forced = queued(session, phase, force=True)
    assert start_measurement(session, forced.id, "w1@host", "cpu").status == "running"
    finish_measurement(session, forced.id, cpu_measurement(3.155))
    assert forced.status == "done" and forced.runtime == 3.155 and forced.runtime_device == "CPU: test"
    assert forced.reason == "forced onto another device class"
    assert phase.baseline_runtime == 3.155 and "best of 3 trials" in phase.baseline_runtime_note
    # a measurement taken on the wrong class is refused even when the worker claimed the right one
    sneaky = queued(session, phase, force=False)
    start_measurement(session, sneaky.id, "w2@host", "gpu")
    finish_measurement(session, sneaky.id, cpu_measurement(9.0))
    assert sneaky.status == "refused" and phase.baseline_runtime == 3.155
    revert_baseline(session, phase, "cli:alice")
    assert phase.baseline_runtime == 0.13


def test_a_measured_baseline_runtime_follows_the_bundles_mean_of_protocol(session):
    """NTIRE 2024+ average the runs: the phase's baseline runtime is their mean, as a submission's is
    (before, always the best trial: the baseline looked faster than the entries it normalises)."""
    from pathlib import Path

    from server.bundle import load_bundle
    from server.services.competitions import create_competition

    bundle = load_bundle(Path(__file__).resolve().parents[2] / "competitions" / "ntire2024-esr.yaml")
    phase = create_competition(session, bundle).phases[0]
    session.commit()
    record = queued(session, phase, force=True)
    start_measurement(session, record.id, "w1@host", "cpu")
    finish_measurement(session, record.id, Measurement(trials=(0.010, 0.014, 0.012), device="CPU: test", images=2))
    assert phase.baseline_runtime == pytest.approx(0.012) and "mean of 3 trials" in phase.baseline_runtime_note
