"""Code submissions: measured fairly, and contained when hostile or broken (docs/security.md maps threats to tests).

Whole submissions run through both sandbox stages with tight limits (slow: seconds each, still CI);
the program format itself is tested in-process in test_program_format.py.
"""

import json
import pickle
import socket
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from torch.utils.flop_counter import FlopCounterMode

import scoring.msrresnet
from scoring.msrresnet import MSRResNet
from scoring.psnr import mean_psnr, psnr
from tests.worker.conftest import KEYS, TINY_MODEL, evaluate, failure
from worker.sandbox.launcher import SandboxLimits

MSRRESNET_SOURCE = Path(scoring.msrresnet.__file__).read_text()


@pytest.fixture(scope="module")
def msrresnet_run(dataset, tmp_path_factory):
    """MSRResNet submitted as code with fixed weights: (evaluation, work dir, weights)."""
    root = tmp_path_factory.mktemp("msrresnet")
    code_dir = root / "submission"
    code_dir.mkdir()
    (code_dir / "model.py").write_text(MSRRESNET_SOURCE + "\n\ndef build_model():\n    return MSRResNet()\n")
    torch.manual_seed(1)
    weights = MSRResNet().state_dict()
    save_file(weights, code_dir / "model.safetensors")
    (code_dir / "submission.yaml").write_text("data_range: 1.0\ndescription: baseline\nextra_data: no\n")
    limits = SandboxLimits(memory_bytes=4 << 30, wall_seconds=120, cpu_seconds=120, processes=64,
                           disk_bytes=64 << 20, threads=1)
    return evaluate(code_dir, dataset, limits, root / "work"), root / "work", weights


@pytest.mark.slow
def test_msrresnet_submission_counts_the_reported_parameters(msrresnet_run):
    evaluation, _, _ = msrresnet_run
    assert evaluation.params == 1_517_571
    assert evaluation.stored == {"buffers": {"float": 0, "integer": 0}, "constants": {"float": 0, "integer": 0},
                                 "literals": {"float": 22, "integer": 150}, "value_literals": 22, "information": 0}
    with FlopCounterMode(display=False) as counter:
        MSRResNet().to("meta")(torch.zeros(1, 3, 256, 256, device="meta"))
    assert evaluation.macs * 2 == counter.get_total_flops(), "MACs: torch counts 2 FLOPs per multiply-accumulate"
    assert round(evaluation.macs / 1e9, 1) == 166.2
    assert evaluation.metadata["description"] == "baseline"
    assert set(evaluation.file_hashes) == {"model.py", "model.safetensors", "submission.yaml"}


@pytest.mark.slow
def test_msrresnet_submission_runs_as_fast_as_the_baseline(msrresnet_run):
    evaluation, _, _ = msrresnet_run
    assert len(evaluation.runtime.trials) == len(evaluation.baseline_runtime.trials) == 3
    for measurement in (evaluation.runtime, evaluation.baseline_runtime):
        assert [len(trial) for trial in measurement.image_seconds] == [len(KEYS)] * 3
    assert evaluation.runtime.device == evaluation.baseline_runtime.device
    assert 0.7 < evaluation.runtime_ratio < 1.4, f"{evaluation.runtime} vs {evaluation.baseline_runtime}"
    env = evaluation.environment
    assert env["device_type"] == "cpu" and env["cpu_threads"] == 1 and env["cudnn_benchmark"] is False


@pytest.mark.slow
def test_msrresnet_submission_psnr_is_the_psnr_of_its_outputs(msrresnet_run, dataset):
    evaluation, work_dir, weights = msrresnet_run
    lr_dir, hr_dir = dataset
    stored = {k: np.load(work_dir / "stage2" / "job" / "result" / "sr" / f"{k}.npy") for k in KEYS}
    hr = {k: np.load(hr_dir / f"{k}.npy") for k in KEYS}
    assert evaluation.psnr == mean_psnr([psnr(stored[k], hr[k]) for k in KEYS])
    assert evaluation.image_psnr == {k: psnr(stored[k], hr[k]) for k in KEYS}
    model = MSRResNet().eval()
    model.load_state_dict(weights)
    direct = []
    with torch.inference_mode():
        for key in KEYS:
            lr = torch.from_numpy(np.array(Image.open(lr_dir / f"{key}x4.png"))).permute(2, 0, 1)[None] / 255
            sr = (model(lr).clamp(0, 1) * 255).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
            direct.append(psnr(sr, hr[key]))
    assert evaluation.psnr == pytest.approx(mean_psnr(direct), abs=0.01)


# ---- hostile submissions: contained, with a reason -----------------------------------------------

@pytest.mark.slow
def test_cannot_read_the_hr_images(make_submission, dataset, limits, tmp_path):
    hr_file = dataset[1] / f"{KEYS[0]}.npy"
    paths = [str(hr_file), f"/proc/1/root{hr_file}", f"/proc/self/root{hr_file}", f"/../../..{hr_file}"]
    code = make_submission(f"""
        leaked = []
        for path in {paths!r}:
            try:
                open(path, "rb").read(1)
                leaked.append(path)
            except OSError:
                pass
        raise RuntimeError(f"leaked: {{leaked}}" if leaked else "nothing readable")
    """)
    assert "nothing readable" in str(failure(code, dataset, limits, tmp_path / "work"))


@pytest.mark.slow
def test_has_no_network(make_submission, dataset, limits, tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    code = make_submission(f"""
        import socket
        reached = []
        for address in [("127.0.0.1", {port}), ("1.1.1.1", 80), ("8.8.8.8", 53)]:
            try:
                socket.create_connection(address, timeout=2).close()
                reached.append(address)
            except OSError:
                pass
        raise RuntimeError(f"reached: {{reached}}" if reached else "no network")
    """)
    try:
        assert "no network" in str(failure(code, dataset, limits, tmp_path / "work"))
    finally:
        server.close()


@pytest.mark.slow
def test_user_namespace_fallback_still_hides_hr_and_network(make_submission, dataset, limits, tmp_path,
                                                           monkeypatch):
    """What a worker that is not root gets: no uid switch, the same view, no capabilities."""
    monkeypatch.setattr("worker.sandbox.launcher.sandbox_identity", lambda: (0, 0, True))
    hr_file = dataset[1] / f"{KEYS[0]}.npy"
    code = make_submission(f"""
        import os, socket
        for attempt in (lambda: open({str(hr_file)!r}, "rb"), lambda: socket.create_connection(("1.1.1.1", 80), 2),
                        lambda: os.chroot("/sandbox/out")):
            try:
                attempt()
                raise RuntimeError("escaped")
            except OSError:
                pass
        raise RuntimeError("contained")
    """)
    limits = SandboxLimits(**{**limits.__dict__, "processes": 1 << 20})  # counted with the worker's own uid
    assert "contained" in str(failure(code, dataset, limits, tmp_path / "work"))


FORK_BOMB = """
    import os, time
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.01)
"""
HOSTILE = {
    "fork bomb": (FORK_BOMB, {"wall_seconds": 12}, "wall-time limit of 12 s"),
    "sleeps forever": ("import time\ntime.sleep(10 ** 6)", {"wall_seconds": 8}, "wall-time limit of 8 s"),
    "busy loop": ("while True:\n    pass", {"cpu_seconds": 4}, "CPU-time limit of 4 s"),
    "allocates": ("block = bytearray(8 << 30)", {}, "ran out of memory"),
    "one huge file": ("f = open('/sandbox/out/big', 'wb')\nwhile True:\n    f.write(bytes(1 << 20))",
                      {}, "file larger than the limit of 16 MiB"),
    "fills the disk": ("for i in range(10 ** 6):\n    open(f'/tmp/f{i}', 'wb').write(bytes(8 << 20))",
                       {}, "ran out of disk space"),
    "opens files": ("files = [open('/sandbox/in/job.json') for _ in range(10 ** 4)]", {}, "Too many open files"),
}


@pytest.mark.slow
@pytest.mark.parametrize("behaviour", list(HOSTILE))
def test_limits_stop_hostile_code_with_a_reason(behaviour, make_submission, dataset, limits, tmp_path):
    code_py, overrides, reason = HOSTILE[behaviour]
    limits = SandboxLimits(**{**limits.__dict__, **overrides})
    assert reason in str(failure(make_submission(code_py), dataset, limits, tmp_path / "work"))


@pytest.mark.slow
def test_patching_the_clock_does_not_change_the_runtime(make_submission, dataset, limits, tmp_path):
    code = make_submission(textwrap.dedent("""
        import time, torch
        time.perf_counter = lambda: 0.0
        torch.cuda.synchronize = lambda *a, **k: None
    """) + TINY_MODEL)
    evaluation = evaluate(code, dataset, limits, tmp_path / "work")
    assert evaluation.runtime.best > 1e-5
    assert 0 < evaluation.runtime_ratio < 1  # one convolution is faster than MSRResNet, not free


@pytest.mark.slow
def test_outputs_cannot_be_cached_across_images(make_submission, dataset, limits, tmp_path):
    code = make_submission(TINY_MODEL.replace("        return self.up(self.conv(x))", """
        out = self.up(self.conv(x))
        if torch.compiler.is_exporting():
            return out
        cache = self.__dict__.setdefault("cache", {})  # outside the export: the first output of each size
        return cache.setdefault(tuple(x.shape), out)"""))
    evaluation = evaluate(code, dataset, limits, tmp_path / "work")
    outputs = tmp_path / "work" / "stage2" / "job" / "result" / "sr"
    first, second = np.load(outputs / f"{KEYS[0]}.npy"), np.load(outputs / f"{KEYS[1]}.npy")
    assert not np.array_equal(first, second)  # every image computed, though all are 32×32
    assert evaluation.params == 3 * 48 * 9 + 48


REWRITE_OWN_PROGRAM = """
import atexit, glob, json, os


def rewrite():
    for path in glob.glob("/sandbox/out/program-*.json"):
        with open(path) as f:
            graph = json.load(f)
        x = next(i for i, spec in enumerate(graph["inputs"]) if spec["kind"] == "input")
        n = len(graph["inputs"]) + len(graph["nodes"])
        graph["nodes"] += [
            {"op": "aten::_sparse_coo_tensor_unsafe.default",
             "args": {"list": [{"ref": x}, {"ref": x}, {"list": [1 << 20]}]}, "kwargs": {}},
            {"op": "aten::to_dense.default", "args": {"list": [{"ref": n}]}, "kwargs": {}}]
        graph["output"] = n + 1
        with open(path, "w") as f:
            json.dump(graph, f)


def at_exit(hook):  # however the runner leaves: the interpreter's exit, or os._exit after its result
    atexit.register(hook)
    leave = os._exit
    os._exit = lambda code: (hook(), leave(code))


at_exit(rewrite)
"""


@pytest.mark.slow
def test_a_program_rewritten_by_stage_1_cannot_reach_unsafe_operators(make_submission, dataset, limits, tmp_path):
    """Stage 1 is the team's process: it rewrites its program after export (a hook at exit) to call
    the sparse operators that wrote past a buffer in the measuring process. The measuring stage
    refuses them by name, as the team's failure."""
    error = failure(make_submission(REWRITE_OWN_PROGRAM + TINY_MODEL), dataset, limits, tmp_path / "work")
    assert "'aten::_sparse_coo_tensor_unsafe.default', which is not an allowed operator" in str(error)


@pytest.mark.slow
def test_pickle_that_runs_code_is_refused(make_submission, dataset, limits, tmp_path):
    class Payload:
        def __reduce__(self):
            return (exec, ("open('/sandbox/out/pwned', 'w').write('x')",))

    code = make_submission(files={"model.pth": pickle.dumps({"conv.weight": Payload()})})
    error = failure(code, dataset, limits, tmp_path / "work")
    assert "weights_only" in str(error)
    assert not (tmp_path / "work" / "stage1" / "job" / "result" / "pwned").exists()


@pytest.mark.slow
def test_megabytes_of_output_are_capped(make_submission, dataset, limits, tmp_path):
    code = make_submission("print('spam ' * 200, flush=True)\nfor _ in range(5000):\n    print('x' * 1000)\n"
                           + TINY_MODEL)
    evaluation = evaluate(code, dataset, limits, tmp_path / "work")
    assert len(evaluation.log) <= limits.log_bytes + 100
    assert "earlier" in evaluation.log and "dropped" in evaluation.log


NESTED_RESULT = """
import atexit, os


def nest():  # stage 1's result, rewritten as it leaves: 200 kB of [[[[ under the 1 MiB cap
    with open("/sandbox/out/result.json", "w") as f:
        f.write('{"program": ' + "[" * 100_000 + "]" * 100_000 + "}")


atexit.register(nest)
leave = os._exit
os._exit = lambda code: (nest(), leave(code))
"""


@pytest.mark.slow
def test_a_deeply_nested_result_is_the_teams_failure(make_submission, dataset, limits, tmp_path):
    """json.loads raised RecursionError on it, which the worker took for its own failure."""
    error = failure(make_submission(NESTED_RESULT + TINY_MODEL), dataset, limits, tmp_path / "work")
    assert "the sandbox left an unreadable result while building and exporting it" in str(error)


OVERFLOWING_MACS = TINY_MODEL.replace("return self.up(self.conv(x))", """k = (x.shape[-1] // 256) * 2**62
        waste = sum(torch.ones(1, 1).expand(1, k) @ torch.ones(1, 1).expand(k, 1) for _ in range(3))
        return self.up(self.conv(x)) + 0 * waste.sum()""")


@pytest.mark.slow
def test_macs_past_what_the_database_holds_are_the_teams_failure(make_submission, dataset, limits, tmp_path):
    """Three 2^62-long dot products at the counted 256×256 only (free on the meta device, none on the
    images): 1.4e19 MACs overflowed the save, and the re-queued run ended as the platform's failure."""
    error = failure(make_submission(OVERFLOWING_MACS), dataset, limits, tmp_path / "work", keys=KEYS[:1])
    assert str(error) == ("the number of MACs (multiply-accumulates for one 1×3×256×256 input) is "
                          "13,835,058,055,367,098,368, outside what the platform records (0 to 1,000,000,000,000,000)")


# ---- broken submissions: a reason the team can act on ----------------------------------------------

BROKEN = {
    "no model.py": (None, "no model.py"),
    "no build_model": ("import torch\n", "does not define build_model()"),
    "import error": ("import torch\n\ndef helper():\n    return 1 / 0\n\nhelper()\n", "ZeroDivisionError"),
    "wrong output shape": (TINY_MODEL.replace("PixelShuffle(4)", "PixelShuffle(2)").replace("48", "12"),
                           "output for 0000 is 1×3×64×64, expected 1×3×128×128"),
    "nan output": (TINY_MODEL.replace("return self.up(self.conv(x))", "return self.up(self.conv(x)) * float('nan')"),
                   "NaN or infinite"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_submissions_fail_with_a_reason(case, make_submission, dataset, limits, tmp_path):
    model_py, reason = BROKEN[case]
    error = failure(make_submission(model_py), dataset, limits, tmp_path / "work")
    assert reason in str(error)
    if case == "import error":  # a one-line reason; the team's traceback ends its log
        assert "\n" not in str(error) and 'model.py", line 4, in helper' in error.log


@pytest.mark.slow
def test_weights_that_do_not_fit_are_listed(make_submission, dataset, limits, tmp_path):
    code = make_submission()
    save_file({"conv.weight": torch.zeros(48, 3, 3, 3), "extra": torch.zeros(1)}, code / "model.safetensors")
    error = str(failure(code, dataset, limits, tmp_path / "work"))
    assert "missing keys ['conv.bias']" in error and "unexpected keys ['extra']" in error


@pytest.mark.slow
def test_a_normal_submission_still_works_after_hostile_ones(make_submission, dataset, limits, tmp_path):
    evaluation = evaluate(make_submission(), dataset, limits, tmp_path / "work")
    assert evaluation.params == 3 * 48 * 9 + 48 and len(evaluation.image_psnr) == len(KEYS)


# ---- what the sandboxed code leaves behind cannot confuse the supervisor ---------------------------

@pytest.mark.slow
def test_a_folder_named_like_the_status_file_does_not_crash_the_supervisor(make_submission, dataset, limits,
                                                                          tmp_path):
    """The status is written outside the team-writable tree: the run is scored, not a platform failure."""
    code = make_submission("import os\nos.mkdir('/sandbox/out/status.json')\nos.mkdir('/sandbox/out/result.json.d')\n"
                           + TINY_MODEL)
    evaluation = evaluate(code, dataset, limits, tmp_path / "work")
    assert evaluation.params == 3 * 48 * 9 + 48
    assert not (tmp_path / "work" / "stage1" / "job" / "result" / "status.json").exists()


@pytest.mark.slow
def test_outputs_past_the_copy_limits_are_the_teams_failure(make_submission, dataset, limits, tmp_path):
    """Only expected names come back, at most ``output_files`` of them: thousands of files stay in the sandbox."""
    code = make_submission(textwrap.dedent("""
        for i in range(3000):
            open(f'/sandbox/out/junk-{i}', 'w').close()
        for i in range(150):
            open(f'/sandbox/out/program-{i}.json', 'w').close()
    """) + TINY_MODEL)
    limits = SandboxLimits(**{**limits.__dict__, "output_files": 100})
    error = failure(code, dataset, limits, tmp_path / "work")
    assert "more than 100 output files" in str(error)
    copied = [p for p in (tmp_path / "work" / "stage1" / "job" / "result").rglob("*")]
    assert len(copied) <= 100 and not any(p.name.startswith("junk") for p in copied)
