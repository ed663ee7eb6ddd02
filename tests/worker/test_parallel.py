"""The parallel scorer must be indistinguishable from the serial one: same figures, same errors."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scoring.archive import ArchiveLimits
from scoring.errors import SubmissionError
from scoring.results import score_results_zip
from tests.scoring.pngs import png_bytes, random_rgb, write_zip
from tests.scoring.test_results import degraded, make_hr
from worker.parallel import score_results_zip_parallel

REPO = Path(__file__).resolve().parents[2]
KEYS = [f"08{i:02}" for i in range(1, 10)]


def both(tmp_path, members, **kwargs):
    """(serial result or error text, parallel result or error text) for the same zip."""
    zip_path = write_zip(tmp_path / "results.zip", members)
    outcomes = []
    for scorer, extra in ((score_results_zip, {}), (score_results_zip_parallel, {"workers": 2})):
        try:
            outcomes.append(scorer(zip_path, tmp_path / "hr", **{"scale": 4, **kwargs}, **extra))
        except SubmissionError as err:
            outcomes.append(f"SubmissionError: {err}")
    return outcomes


def test_same_figures_readme_and_progress(tmp_path):
    hr = make_hr(tmp_path / "hr", KEYS)
    members = [(f"res/{k}x4.png", png_bytes(degraded(v, 3 + i))) for i, (k, v) in enumerate(reversed(hr.items()))]
    members.append(("res/README.TXT", b"Runtime per image [s] : 0.05\n"))
    calls = []
    serial, parallel = both(tmp_path, members)
    again = score_results_zip_parallel(tmp_path / "results.zip", tmp_path / "hr", workers=3, scale=4,
                                       on_image=lambda *args: calls.append(args))
    assert serial == parallel == again
    assert list(parallel.per_image) == KEYS
    assert calls == [(key, i, len(KEYS)) for i, key in enumerate(KEYS, start=1)]


def test_one_worker_scores_in_this_process(tmp_path):
    hr = make_hr(tmp_path / "hr", KEYS[:2])
    zip_path = write_zip(tmp_path / "results.zip", [(f"{k}.png", png_bytes(v)) for k, v in hr.items()])
    result = score_results_zip_parallel(zip_path, tmp_path / "hr", workers=1, scale=4)
    assert result == score_results_zip(zip_path, tmp_path / "hr", scale=4)
    assert result.capped_count == 2


@pytest.mark.parametrize("case", ["missing", "extra", "first_bad_in_key_order", "readme_too_big", "pixels"])
def test_same_errors(tmp_path, case):
    hr = make_hr(tmp_path / "hr", KEYS)
    members = {f"{k}.png": png_bytes(v) for k, v in hr.items()}
    kwargs = {}
    if case == "missing":
        del members["0803.png"]
    elif case == "extra":
        members["0901.png"] = members["0801.png"]
    elif case == "first_bad_in_key_order":  # in different runs of keys, the later one listed first
        members["0808.png"] = png_bytes(hr["0808"][:, :, 0])
        members["0804.png"] = png_bytes(random_rgb(10, 12))
    elif case == "readme_too_big":
        members["readme.txt"] = b"x" * (64 * 1024 + 1)
    elif case == "pixels":
        kwargs["limits"] = ArchiveLimits(max_image_pixels=100)
    serial, parallel = both(tmp_path, sorted(members.items(), reverse=True), **kwargs)
    assert isinstance(serial, str) and serial.startswith("SubmissionError")
    assert parallel == serial


def test_missing_hr_data_is_not_the_teams_fault(tmp_path):
    (tmp_path / "hr").mkdir()
    zip_path = write_zip(tmp_path / "results.zip", [("0801.png", png_bytes(random_rgb(8, 8)))])
    with pytest.raises(ValueError, match="no hidden HR images"):
        score_results_zip_parallel(zip_path, tmp_path / "hr", scale=4)


def test_the_competitions_scale_names_the_lr_suffix(tmp_path):
    """A ×2 competition's results are named like its LR inputs, ``0801x2.png``; at ×4 that is no key."""
    hr = make_hr(tmp_path / "hr", KEYS[:3])
    members = [(f"{k}x2.png", png_bytes(degraded(v, 4))) for k, v in hr.items()]
    serial, parallel = both(tmp_path, members, scale=2)
    assert serial == parallel and list(parallel.per_image) == KEYS[:3]
    at_x4 = both(tmp_path, members)
    assert all(isinstance(outcome, str) and "Missing 3 of 3 images" in outcome for outcome in at_x4), at_x4


PINNED = """
import multiprocessing, os, sys
from pathlib import Path
from worker.parallel import score_results_zip_parallel
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
score_results_zip_parallel(Path(sys.argv[1]), Path(sys.argv[2]), scale=4)
print(len(multiprocessing.active_children()))
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to pin a worker to one of them")
def test_a_worker_pinned_to_one_core_starts_no_pool(tmp_path):
    """Before: one scoring process per core of the host (os.cpu_count), whatever the worker may use."""
    hr = make_hr(tmp_path / "hr", KEYS[:4])
    zip_path = write_zip(tmp_path / "results.zip", [(f"{k}.png", png_bytes(v)) for k, v in hr.items()])
    result = subprocess.run([sys.executable, "-c", PINNED, str(zip_path), str(tmp_path / "hr")], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0"]
