"""The measuring job names the bundle's baseline and its scale; where the sandbox cannot build that
baseline at that scale (above ×4), no figure of the stand-in it times is kept as the baseline's."""

from pathlib import Path

import pytest

from scoring.ranking import BaselineFigures, Entry, Tolerances, TrackRule, rank_track
from server.bundle import load_bundle
from server.services.competitions import create_competition
from tests.server.conftest import seeded_session
from worker.baseline import BaselineNotBuilt, measure_baseline_runtime
from worker.evaluate import baseline_job, keep_comparable_baseline

COMPETITIONS = Path(__file__).resolve().parents[2] / "competitions"


@pytest.fixture
def competitions(tmp_path):
    x8 = tmp_path / "ntire2025-esr-x8.yaml"  # EFDN at a scale no challenge used: not built
    x8.write_text((COMPETITIONS / "ntire2025-esr.yaml").read_text().replace("slug: ntire2025-esr", "slug: esr-x8")
                  .replace("scale: 4", "scale: 8"))
    with seeded_session(f"sqlite:///{tmp_path / 'jobs.db'}") as session:
        made = {name: create_competition(session, load_bundle(COMPETITIONS / f"{name}.yaml"))
                for name in ("ntire2024-esr-x2", "ntire2024-esr-x3")}
        made["esr-x8"] = create_competition(session, load_bundle(x8))
        session.commit()
        yield session, made


def run_figures():
    """What a re-run reports: timed beside the stand-in MSRResNet x4 where the bundle's is not built."""
    return {"runtime": 0.010, "runtime_baseline": 0.050, "runtime_ratio": 0.2,
            "baseline_measurement": {"trials": [0.05]}}


def test_the_job_names_the_bundles_baseline_at_the_bundles_scale(competitions):
    _, made = competitions
    assert baseline_job(made["ntire2024-esr-x2"]) == {"name": "RLFN", "scale": 2}
    assert baseline_job(made["ntire2024-esr-x3"]) == {"name": "RLFN", "scale": 3}


def test_a_ratio_against_another_baseline_is_not_kept_so_the_model_is_held_to_the_phases_runtime(competitions):
    _, made = competitions
    figures = run_figures()
    keep_comparable_baseline(figures, made["esr-x8"])
    assert figures["runtime_ratio"] is None and figures["runtime_baseline"] is None
    assert "does not build EFDN at ×8" in figures["baseline_not_timed"]
    # the 0.2 ratio against the stand-in MSRResNet x4 would let this model pass a runtime bound it breaks
    track = TrackRule("runtime", "Runtime", "runtime", kind="gate", bounded=("runtime",))
    entry = Entry("x2", "runtime", 27.0, 300_000, figures["runtime"], runtime_ratio=figures["runtime_ratio"])
    rlfn_x2 = BaselineFigures(psnr=None, params=302_278, runtime=0.008, name="RLFN")
    row = next(r for r in rank_track([entry], track, rlfn_x2, Tolerances()) if r.entry.team == "x2")
    assert row.rank is None and "1.25× the baseline's 0.008 s" in row.reason


def test_the_built_baseline_keeps_its_same_job_ratio(tmp_path, competitions):
    with seeded_session(f"sqlite:///{tmp_path / 'aim.db'}") as session:
        from server.services.competitions import get_competition
        figures = run_figures()
        keep_comparable_baseline(figures, get_competition(session, "aim2019"))
        assert figures == run_figures()
    for x2_or_x3 in ("ntire2024-esr-x2", "ntire2024-esr-x3"):  # RLFN is built at x2 and x3
        figures = run_figures()
        keep_comparable_baseline(figures, competitions[1][x2_or_x3])
        assert figures == run_figures()


def test_measuring_a_baseline_the_sandbox_cannot_build_is_refused_before_it_runs(competitions):
    _, made = competitions
    stages: list[str] = []
    with pytest.raises(BaselineNotBuilt, match="does not build EFDN at ×8"):
        measure_baseline_runtime(made["esr-x8"].phases[0], stages.append)
    assert stages == []  # no stage started


def test_the_job_times_the_bundles_baseline_where_built_else_the_stand_in_whose_figures_are_dropped():
    from scoring.baselines import STAND_IN, timed_baseline
    assert timed_baseline("RLFN", 3) == {"name": "RLFN", "scale": 3}
    assert timed_baseline("EFDN", 4) == {"name": "EFDN", "scale": 4}
    assert timed_baseline("EFDN", 8) == STAND_IN == {"name": "MSRResNet", "scale": 4}
    assert timed_baseline("SPAN", 8) == STAND_IN


@pytest.mark.slow
def test_srchallenge_baseline_measure_times_rlfn_at_x3_over_the_bundles_runs(competitions, tmp_path, monkeypatch):
    """Before, measuring the x3 bundle's baseline was refused (only MSRResNet x4 was built)."""
    import os
    import shutil

    import numpy as np
    from PIL import Image

    from server.config import get_settings

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("the sandbox runs as root (per-job uids) and needs util-linux unshare")
    monkeypatch.setenv("SRCHALLENGE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    phase = competitions[1]["ntire2024-esr-x3"].phases[0]
    hr_dir = tmp_path / "data" / "private" / "ntire2024-esr-x3" / phase.slug / "hr"
    lr_dir = tmp_path / "data" / "public" / "ntire2024-esr-x3" / phase.slug / "lr"
    hr_dir.mkdir(parents=True)
    lr_dir.mkdir(parents=True)
    hr = np.random.default_rng(3).integers(0, 256, (48, 60, 3), dtype=np.uint8)
    np.save(hr_dir / "0801.npy", hr)
    Image.fromarray(hr.reshape(16, 3, 20, 3, 3).mean(axis=(1, 3)).round().astype(np.uint8)).save(lr_dir / "0801x3.png")
    stages: list[str] = []
    try:
        measurement = measure_baseline_runtime(phase, stages.append)
    finally:
        get_settings.cache_clear()
    assert len(measurement.trials) == 5  # the bundle's timing: mean_of 5
