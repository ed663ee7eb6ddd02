"""Stage 2, trusted code on untrusted data: count, time and run the exported program.

No Python from the team is imported here: the program is JSON checked and interpreted by
``program.Program`` and its weights are safetensors, so the clock, ``torch.cuda.Event``,
``torch.cuda.synchronize`` and the counting are the platform's own. It still runs in the sandbox
(no network, no HR images, limits), as a second wall in case a crafted file finds a way in.
One program (``job["program"]``) runs every image, timed or scored, and the FLOPs count: the
timed computation is the scored one (README, "What is timed is what is scored"); before any real
input is made it runs on the meta device at every input size, so sizes are checked first.

Protocol (report §2.3, made fair): forward only, fp32 (TF32 off), batch 1, ``inference_mode``,
untimed warm-up; each image's input tensor is made fresh just before its clock starts; per image,
CUDA events and a synchronize on GPU, ``perf_counter`` on CPU; a trial is the mean over the
runtime images; three trials, in each of which the submission and MSRResNet (built here) take
turns image by image. Every image's time is returned; the trusted parent makes the figures.

Inputs under /sandbox/in: job.json, exported/, lr/<key>.npy (uint8 H×W×3). Outputs in
/sandbox/out: result.json and sr/<key>.npy (uint8, scale·H × scale·W × 3) for the scoring images.
"""

import gc
import json
import platform
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from msrresnet import MSRResNet
from params import count_unique
from program import Program, ProgramError, to_program
from safetensors.torch import load_file
from stored import stored_numbers
from timing import TRIALS
from torch.utils.flop_counter import FlopCounterMode

IN, OUT = Path("/sandbox/in"), Path("/sandbox/out")
PROGRAM_BYTES = 64 << 20


class TeamError(Exception):
    """A reason for the team."""


class Runner:
    """A model (submission or baseline): one program that runs every image, timed or scored."""

    def __init__(self, name: str, program: Program, data_range: float, scale: int = 4) -> None:
        self.name, self.program, self.data_range, self.scale = name, program, data_range, scale

    def run(self, lr: np.ndarray, device: torch.device, key: str, clock=None) -> tuple[torch.Tensor, float]:
        """Forward one LR image; the input is a fresh tensor, made before the clock starts."""
        h, w = lr.shape[:2]
        program = self.program
        x = torch.from_numpy(lr).to(device).permute(2, 0, 1).unsqueeze(0).float() * (self.data_range / 255)
        try:
            if device.type == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                torch.cuda.synchronize(device)
                start.record()
                out = program(x)
                end.record()
                torch.cuda.synchronize(device)
                seconds = start.elapsed_time(end) / 1000
            else:
                started = time.perf_counter()
                out = program(x)
                seconds = time.perf_counter() - started
        except (MemoryError, RuntimeError, ValueError, TypeError, IndexError) as exc:
            raise TeamError(f"the {self.name} failed on {key} ({w}×{h}): {str(exc)[:2000]}") from None
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (1, 3, self.scale * h, self.scale * w):
            got = "×".join(map(str, out.shape)) if isinstance(out, torch.Tensor) else type(out).__name__
            raise TeamError(f"output for {key} is {got}, expected 1×3×{self.scale * h}×{self.scale * w}")
        return out, seconds

    def check_pure(self) -> None:
        """Called after every pass: a program whose weights changed could carry results between calls."""
        if not self.program.weights_unchanged():
            raise TeamError(f"the {self.name} changed its own weights while running; "
                            "a scored model must be a pure function of its input")

    def to_uint8(self, out: torch.Tensor) -> np.ndarray:
        """Clamp to [0, data_range], scale to 0..255, round half to even (NTIRE efficient-SR)."""
        scaled = out.float().clamp(0, self.data_range) * (255 / self.data_range)
        return scaled.round().to(torch.uint8)[0].permute(1, 2, 0).cpu().numpy()


@contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection inside a trial (as ``timeit`` does): a collection lands on whichever
    image allocates past the threshold and adds milliseconds to it alone. The interpreter frees
    values by reference counting; cycles wait for the collection after the trial."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def load_submission(job: dict, device: torch.device, sizes: list[tuple[int, int]]) -> tuple[Runner, dict]:
    """The team's one program, checked on the meta device at every input size (sizes before allocation)."""
    try:
        tensors = load_file(IN / "exported" / "weights.safetensors")
    except Exception as exc:  # noqa: BLE001 - the file came from the team's process
        raise TeamError(f"the exported weights cannot be read: {exc}") from None
    path = IN / "exported" / job["program"]
    if path.stat().st_size > PROGRAM_BYTES:
        raise TeamError(f"the exported graph is larger than {PROGRAM_BYTES >> 20} MiB")
    try:
        graph = json.loads(path.read_text())
        meta = Program(graph, tensors, torch.device("meta"))
        program = Program(graph, tensors, device)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TeamError(f"the exported program is malformed: {exc!r}") from None
    limit = int(job["memory_gib"] * 2**30)
    for h, w in sizes:
        meta.peak_bytes((1, 3, h, w), limit)
    figures = {"params": count_unique(tensors[n] for n in program.param_names),
               "stored": stored_numbers([(graph, program)], tensors)}
    flops_h, flops_w = job["flops_shape"]
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        meta.peak_bytes((1, 3, flops_h, flops_w), 1 << 62)
    figures["flops"] = counter.get_total_flops()
    return Runner("model", program, job["data_range"], job["scale"]), figures


def load_baseline(device: torch.device, example_hw: tuple[int, int]) -> Runner:
    """MSRResNet, random weights, through the same export and interpreter as the submission."""
    torch.manual_seed(0)
    model = MSRResNet().eval()
    auto = torch.export.Dim.AUTO
    ep = torch.export.export(model, (torch.rand(1, 3, *example_hw),), dynamic_shapes=({2: auto, 3: auto},),
                             strict=False)
    graph, tensors = to_program(ep, {})
    return Runner("baseline", Program(graph, tensors, device), 1.0)


def environment(device: torch.device) -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    env = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU: {cpu}",
        "device_type": device.type, "cpu": cpu, "torch": torch.__version__, "python": platform.python_version(),
        "cpu_threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
        "cudnn_benchmark": torch.backends.cudnn.benchmark, "tf32": False, "precision": "fp32", "batch": 1,
    }
    if device.type == "cuda":
        driver = Path("/proc/driver/nvidia/version")
        env.update(cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                   driver=driver.read_text().splitlines()[0] if driver.exists() else None)
    return env


def measure(job: dict) -> dict:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    lr = {key: np.load(IN / "lr" / f"{key}.npy", allow_pickle=False)
          for key in dict.fromkeys(job["runtime_keys"] + job["scoring_keys"])}
    submission, figures = load_submission(job, device, list(dict.fromkeys(img.shape[:2] for img in lr.values())))
    first = job["runtime_keys"][0]
    warmups = 3 if device.type == "cuda" else 1

    def interleaved_trial() -> tuple[list[float], list[float]]:
        """Both models on each image in turn (alternating who goes first), so a change in load or
        clock speed during the trial hits both alike; each image's two times are a pair."""
        seconds = {submission: [], baseline: []}
        with collector_paused():
            for i, key in enumerate(job["runtime_keys"]):
                for runner in (submission, baseline) if i % 2 == 0 else (baseline, submission):
                    seconds[runner].append(runner.run(lr[key], device, key)[1])
        submission.check_pure()
        baseline.check_pure()
        return seconds[submission], seconds[baseline]

    with torch.inference_mode():
        for _ in range(warmups):
            submission.run(lr[first], device, first)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        (OUT / "sr").mkdir()
        for key in job["scoring_keys"]:
            out, _ = submission.run(lr[key], device, key)
            if not torch.isfinite(out).all():
                raise TeamError(f"output for {key} contains NaN or infinite values")
            np.save(OUT / "sr" / f"{key}.npy", submission.to_uint8(out))
        submission.check_pure()
        figures["peak_memory_bytes"] = (torch.cuda.max_memory_allocated(device) if device.type == "cuda"
                                        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        baseline = load_baseline(device, lr[first].shape[:2])
        for _ in range(warmups):
            baseline.run(lr[first], device, first)
        sub_seconds, base_seconds = zip(*(interleaved_trial() for _ in range(TRIALS)))
    env = environment(device)
    return {**figures, "runtime_image_seconds": sub_seconds, "baseline_image_seconds": base_seconds, "environment": env,
            "export": "one program for every image size"}


def main() -> None:
    job = json.loads((IN / "job.json").read_text())
    try:
        result = measure(job)
    except (TeamError, ProgramError) as exc:
        result = {"error": str(exc)}
    except MemoryError:
        result = {"error": f"ran out of memory while running the model (the limit is {job['memory_gib']:g} GiB)"}
    (OUT / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
