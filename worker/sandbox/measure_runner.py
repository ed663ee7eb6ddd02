"""Stage 2, trusted code on untrusted data: count, time and run the exported program.

No Python from the team is imported here: the program is JSON checked and interpreted by
``program.Program`` and its weights are safetensors, so the clock, ``torch.cuda.Event``,
``torch.cuda.synchronize`` and the counting are the platform's own. It still runs in the sandbox
(no network, no HR images, limits), as a second wall in case a crafted file finds a way in.
One program (``job["program"]``) runs every image, timed or scored, and the FLOPs count: the
timed computation is the scored one (README, "What is timed is what is scored"); before any real
input is made it runs on the meta device at every input size, so sizes are checked first. A model
whose graph depends on the size comes as one program per input size (``job["programs"]``), each
placed at the size it records and counted there (``flops_per_pixel_by_size``, for every program).

Protocol (report §2.3, made fair): forward only, fp32 (TF32 off), batch 1, ``inference_mode``,
on the device the job names (a GPU job that finds no usable GPU is the platform's failure, never a
CPU run); an untimed warm-up pass over every distinct runtime input shape, for both models; the
input is a contiguous NCHW float tensor (the layout teams' own scripts feed), made fresh just
before its clock starts; per image,
CUDA events and a synchronize on GPU, ``perf_counter`` on CPU; a trial is the mean over the
runtime images; the bundle's number of trials (``job["timing"]["runs"]``, default ``TRIALS``), in
each of which the submission and the bundle's baseline at its scale (built here) take turns image by
image. Every image's time is returned; the trusted parent makes the figures.
The outputs of scored images that are also timed (the same pixels) are those the submission gave
in the first trial, saved after each image's clock stopped; other scored images get one untimed
pass of their own, before the baseline is loaded.

Inputs under /sandbox/in: job.json, exported/, lr/<key>.npy (uint8 H×W×3). Outputs in
/sandbox/out: result.json and sr/<key>.npy (uint8, scale·H × scale·W × 3) for the scoring images.
"""

import gc
import hashlib
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from efdn import EFDN
from imdn import IMDN
from macs import MacCounter
from msrresnet import MSRResNet
from params import count_unique
from program import Program, ProgramError, to_program
from rfdn import RFDN
from rlfn import RLFN
from safetensors.torch import load_file
from span import SPAN
from stored import stored_numbers
from timing import TRIALS

IN, OUT = Path("/sandbox/in"), Path("/sandbox/out")
PROGRAM_BYTES = 64 << 20
TIME_PER_PIXEL = 1 / 3
"""The least share of the scored images' time per pixel that the timed images may take (see
``check_time_per_pixel``); a third leaves room for a loaded machine and for small images' fixed costs,
whose share the fixed cost per pass (``Runner.fixed_seconds``) does not remove."""
INFORMATIVE = 10
"""Scored passes shorter than this many fixed costs are not compared (tiny images or models)."""


class TeamError(Exception):
    """A reason for the team."""


class PlatformError(Exception):
    """The job's device is not usable here: the platform's failure, not the team's."""


def input_tensor(lr: np.ndarray, device: torch.device, data_range: float) -> torch.Tensor:
    """1×3×H×W float32 on ``device``, contiguous NCHW (not the channels-last strides a permuted
    view would keep, which would send cuDNN to NHWC kernels with a weight conversion per conv)."""
    x = torch.from_numpy(lr).to(device).permute(2, 0, 1).unsqueeze(0)
    return x.to(torch.float32, memory_format=torch.contiguous_format) * (data_range / 255)


def timed_forward(model, x: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, float]:
    """``model(x)`` and its seconds: CUDA events between two synchronizes on a GPU (the kernels'
    own time, nothing queued before counts), ``perf_counter`` on the CPU. The one clock of every
    forward timed here and in the benches that compare against it (bench/runtime_harness.py,
    bench/gpu_probe.py)."""
    if device.type != "cuda":
        started = time.perf_counter()
        out = model(x)
        return out, time.perf_counter() - started
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize(device)
    start.record()
    out = model(x)
    end.record()
    torch.cuda.synchronize(device)
    return out, start.elapsed_time(end) / 1000


class Runner:
    """A model (submission or baseline): one program that runs every image, timed or scored, or
    ``by_size``, the program of each input size (a model exported per size)."""

    def __init__(self, name: str, program: Program | None, data_range: float, scale: int = 4,
                 by_size: dict[tuple[int, int], Program] | None = None) -> None:
        self.name, self.program, self.data_range, self.scale = name, program, data_range, scale
        self.fixed_seconds = 0.0
        """What a pass costs whatever the size: the interpreter over the same steps, on the meta device."""
        self.by_size = by_size

    def programs(self) -> list[Program]:
        return list(self.by_size.values()) if self.by_size else [self.program]

    def run(self, lr: np.ndarray, device: torch.device, key: str) -> tuple[torch.Tensor, float]:
        """Forward one LR image; the input is a fresh tensor, made before the clock starts."""
        h, w = lr.shape[:2]
        program = self.by_size.get((h, w)) if self.by_size else self.program
        if program is None:
            raise TeamError(f"no program was exported for {key}'s size ({w}×{h})")
        x = input_tensor(lr, device, self.data_range)
        try:
            out, seconds = timed_forward(program, x, device)
        except (MemoryError, RuntimeError, ValueError, TypeError, IndexError) as exc:
            raise TeamError(f"the {self.name} failed on {key} ({w}×{h}): {str(exc)[:2000]}") from None
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (1, 3, self.scale * h, self.scale * w):
            got = "×".join(map(str, out.shape)) if isinstance(out, torch.Tensor) else type(out).__name__
            raise TeamError(f"output for {key} is {got}, expected 1×3×{self.scale * h}×{self.scale * w}")
        return out, seconds

    def check_pure(self) -> None:
        """Called after every pass: a program whose weights changed could carry results between calls."""
        if not all(program.weights_unchanged() for program in self.programs()):
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


def read_graph(name: str) -> dict:
    path = IN / "exported" / name
    if path.stat().st_size > PROGRAM_BYTES:
        raise TeamError(f"the exported graph is larger than {PROGRAM_BYTES >> 20} MiB")
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise TeamError(f"the exported program is malformed: {exc!r}") from None


def checked_programs(job: dict, tensors: dict, device: torch.device,
                     sizes: list[tuple[int, int]]) -> dict[tuple[int, int] | None, tuple[dict, Program, Program]]:
    """(graph, meta program, program) by the input size each serves (None: every size).

    A per-size export is not taken on stage 1's word: each program is placed at the size it records
    (``input_size``, which its file name must repeat), every image size and the MACs size must have
    exactly one, and all must use the same parameters of the one weights file."""
    names = [job["program"]] if "program" in job else job["programs"]
    programs = {}
    for name in names:
        graph = read_graph(name)
        size = None
        if "programs" in job:
            recorded = graph.get("input_size") if isinstance(graph, dict) else None
            if (not isinstance(recorded, list) or len(recorded) != 2 or not all(type(v) is int for v in recorded)
                    or name != f"program-{recorded[0]}x{recorded[1]}.json"):
                raise TeamError(f"{name} does not record the input size it was exported for, or records another")
            size = tuple(recorded)
        try:
            programs[size] = (graph, Program(graph, tensors, torch.device("meta")), Program(graph, tensors, device))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise TeamError(f"the exported program is malformed: {exc!r}") from None
    if "programs" in job:
        missing = [f"{w}×{h}" for h, w in [*sizes, tuple(job["flops_shape"])] if (h, w) not in programs]
        if missing or len(programs) != len(names):
            raise TeamError(f"the programs exported per size do not cover {', '.join(missing) or 'each size once'}")
        if len({tuple(program.param_names) for _, _, program in programs.values()}) != 1:
            raise TeamError("the programs exported per size do not use the same parameters: one model must "
                            "run every size")
    return programs


def load_submission(job: dict, device: torch.device, sizes: list[tuple[int, int]]) -> tuple[Runner, dict]:
    """The team's program(s), checked on the meta device at every input size (sizes before allocation)."""
    try:
        tensors = load_file(IN / "exported" / "weights.safetensors")
    except Exception as exc:  # noqa: BLE001 - the file came from the team's process
        raise TeamError(f"the exported weights cannot be read: {exc}") from None
    programs = checked_programs(job, tensors, device, sizes)
    one = programs.get(None)

    def meta_at(size: tuple[int, int]) -> Program:
        return (one or programs[size])[1]

    limit = int(job["memory_gib"] * 2**30)
    per_pixel, meta_seconds = [], []
    for h, w in sizes:
        started = time.perf_counter()
        with torch.inference_mode(), MacCounter() as counter:
            meta_at((h, w)).peak_bytes((1, 3, h, w), limit)
        meta_seconds.append(time.perf_counter() - started)
        per_pixel.append([h, w, 2 * counter.macs / (h * w)])
    params = {n: tensors[n] for _, _, program in programs.values() for n in program.param_names}
    figures = {"params": count_unique(params.values()),
               "stored": stored_numbers([(graph, program) for graph, _, program in programs.values()], tensors)}
    flops_h, flops_w = job["flops_shape"]
    with torch.inference_mode(), MacCounter() as counter:
        meta_at((flops_h, flops_w)).peak_bytes((1, 3, flops_h, flops_w), 1 << 62)
    figures["flops"] = 2 * counter.macs  # FLOPs as torch counts them, 2 per MAC: code_eval halves them
    figures["products"] = counter.products
    figures["flops_per_pixel_by_size"] = per_pixel  # the parent compares the sizes with each other
    by_size = None if one else {size: program for size, (_, _, program) in programs.items()}
    submission = Runner("model", one[2] if one else None, job["data_range"], job["scale"], by_size=by_size)
    submission.fixed_seconds = min(meta_seconds)
    return submission, figures


BASELINES = {"MSRResNet": MSRResNet, "IMDN": IMDN, "RFDN": RFDN, "RLFN": RLFN, "EFDN": EFDN, "SPAN": SPAN}
"""The networks a bundle's ``baseline.name`` builds here (scoring/baselines.py lists them with their scales)."""


def load_baseline(job: dict, device: torch.device, example_hw: tuple[int, int]) -> tuple[Runner, dict]:
    """The bundle's baseline at the bundle's scale, random weights (seeded: its time does not depend
    on them), through the same export and interpreter as the submission; and what was built."""
    name, scale = job["baseline"]["name"], job["baseline"]["scale"]
    if name not in BASELINES:
        raise PlatformError(f"the measuring stage does not build the baseline {name}")
    torch.manual_seed(0)
    model = BASELINES[name](scale=scale).eval()
    auto = torch.export.Dim.AUTO
    ep = torch.export.export(model, (torch.rand(1, 3, *example_hw),), dynamic_shapes=({2: auto, 3: auto},),
                             strict=False)
    graph, tensors = to_program(ep, {})
    built = {"name": name, "scale": scale, "params": sum(p.numel() for p in model.parameters())}
    return Runner("baseline", Program(graph, tensors, device), 1.0, scale), built


def fair_backends() -> None:
    """fp32 throughout: no TF32 in convolutions or matmuls, no cuDNN autotuning."""
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


def gpu_uuid(device: torch.device) -> str:
    """As nvidia-smi writes it: ``GPU-xxxxxxxx-…``."""
    uuid = str(torch.cuda.get_device_properties(device).uuid)
    return uuid if uuid.startswith("GPU-") else f"GPU-{uuid}"


def job_device(job: dict) -> torch.device:
    """The device the job requires; on a GPU, exactly the assigned one, with its memory bounded."""
    if job["device"] != "cuda":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise PlatformError("this is a GPU job but CUDA is not available in the measuring stage "
                            "(driver, device nodes or libraries missing)")
    if torch.cuda.device_count() != 1:
        raise PlatformError(f"the measuring stage sees {torch.cuda.device_count()} GPUs, not the one assigned")
    device = torch.device("cuda", 0)
    if gpu_uuid(device).lower() != job["gpu_uuid"].lower():
        raise PlatformError(f"the measuring stage got {gpu_uuid(device)}, not the assigned {job['gpu_uuid']}")
    torch.cuda.set_per_process_memory_fraction(job["gpu_memory_fraction"], device)
    return device


def warm_up(runner: Runner, lr: dict[str, np.ndarray], keys: list[str], device: torch.device) -> None:
    """One untimed pass over every distinct input shape of ``keys`` (each shape's first image), so
    that no model meets a shape for the first time inside a timed trial; on a GPU, the first shape
    twice more (context, allocator, kernel selection)."""
    by_shape = {}
    for key in keys:
        by_shape.setdefault(lr[key].shape[:2], key)
    first = next(iter(by_shape.values()))
    again = [first, first] if device.type == "cuda" else []
    for key in again + list(by_shape.values()):
        runner.run(lr[key], device, key)


def environment(device: torch.device, job: dict) -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    env = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU: {cpu}",
        "device_type": device.type, "cpu": cpu, "torch": torch.__version__, "python": platform.python_version(),
        "cpu_threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
        "cpus": sorted(os.sched_getaffinity(0)),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "tf32": {"cudnn": torch.backends.cudnn.allow_tf32, "matmul": torch.backends.cuda.matmul.allow_tf32},
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "precision": "fp32", "batch": 1, "input_layout": "NCHW contiguous",
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        driver = Path("/proc/driver/nvidia/version")
        env.update(cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                   driver=driver.read_text().splitlines()[0] if driver.exists() else None,
                   gpu_uuid=gpu_uuid(device), gpu_memory_bytes=props.total_memory,
                   gpu_memory_fraction=job["gpu_memory_fraction"],
                   gpu_max_clock_mhz=getattr(props, "clock_rate", 0) // 1000 or None,
                   gpu_memory_clock_mhz=getattr(props, "memory_clock_rate", 0) // 1000 or None,
                   gpu_sm_clock_mhz=sm_clock_mhz(device))
    return env


def sm_clock_mhz(device: torch.device) -> int | None:
    """The SM clock now, through NVML (nvidia-ml-py) where installed; None otherwise."""
    try:
        return int(torch.cuda.clock_rate(device))
    except Exception:  # noqa: BLE001 - optional: NVML or its binding may be missing
        return None


def output_sources(lr: dict[str, np.ndarray], runtime_keys: list[str], scoring_keys: list[str]) -> dict[str, str]:
    """For each scoring key whose LR image is, pixel for pixel, that of a runtime key: that runtime
    key. Their outputs are taken from the first timed trial; the other scoring keys get a pass of
    their own, untimed.

    The worker stages the timed images under keys of their own (``rt-``), so the match is by
    content, checked pixel for pixel: the saved output is then the timed program's own output on
    that very input, and the pass over the scoring images is saved when they are the timed ones."""
    by_digest: dict[tuple, list[str]] = {}
    for key in runtime_keys:
        by_digest.setdefault(_pixels_digest(lr[key]), []).append(key)
    sources = {}
    for key in scoring_keys:
        same = [rt for rt in by_digest.get(_pixels_digest(lr[key]), []) if np.array_equal(lr[rt], lr[key])]
        if same:
            sources[key] = same[0]
    return sources


def _pixels_digest(image: np.ndarray) -> tuple:
    return image.shape, hashlib.sha256(np.ascontiguousarray(image).data).digest()


def _per_pixel(seconds: dict[str, float], lr: dict[str, np.ndarray], fixed: float) -> float:
    """Seconds per LR pixel over ``seconds``' images, less each pass's fixed cost."""
    return sum(max(s - fixed, 0) for s in seconds.values()) / sum(lr[k].shape[0] * lr[k].shape[1] for k in seconds)


def _sizes(keys, lr: dict[str, np.ndarray]) -> str:
    return ", ".join(dict.fromkeys(f"{lr[k].shape[1]}×{lr[k].shape[0]}" for k in keys))


def check_time_per_pixel(submission: Runner, lr: dict[str, np.ndarray], runtime_keys: list[str], trials,
                         scored_seconds: dict[str, float], device: torch.device) -> None:
    """The timed images may not take less time per pixel than the images only scored, by more than
    TIME_PER_PIXEL: a program can do less work at the timed sizes alone with no branch and no failing
    guard (shape arithmetic that crops at one width), and the MACs it is counted for may not show it
    where the skipped work is not multiply-accumulates. Each timed image counts with its best trial.
    Each pass counts less its fixed cost (the same steps run at every size: the meta-device pass),
    and scored passes under INFORMATIVE times it are not compared. A scored image ran once, and at
    its size first, so a refusal is confirmed by a second pass over them (the faster of the two
    counts): noise or a first-pass cost can slow them, never the cheat."""
    fixed = submission.fixed_seconds
    if not scored_seconds or statistics.median(scored_seconds.values()) < INFORMATIVE * fixed:
        return  # passes that fixed costs dominate say nothing of the work per pixel
    best = {key: min(trial[i] for trial in trials) for i, key in enumerate(runtime_keys)}
    timed = _per_pixel(best, lr, fixed)
    for attempt in range(2):
        scored = _per_pixel(scored_seconds, lr, fixed)
        if timed >= TIME_PER_PIXEL * scored:
            return
        if attempt == 0:
            for key in scored_seconds:
                scored_seconds[key] = min(scored_seconds[key], submission.run(lr[key], device, key)[1])
    raise TeamError(
        f"the model takes {scored / timed:.1f}× less time per pixel on the timed images ({_sizes(runtime_keys, lr)}) "
        f"than on the images it is scored on ({_sizes(scored_seconds, lr)}); the time it is ranked by would not "
        "describe it, so it is refused (a network does the same work per pixel at every size)")


def save_output(runner: Runner, out: torch.Tensor, key: str) -> None:
    if not torch.isfinite(out).all():
        raise TeamError(f"output for {key} contains NaN or infinite values")
    np.save(OUT / "sr" / f"{key}.npy", runner.to_uint8(out))


def measure(job: dict) -> dict:
    device = job_device(job)
    fair_backends()
    runtime_keys, scoring_keys = job["runtime_keys"], job["scoring_keys"]
    lr = {key: np.load(IN / "lr" / f"{key}.npy", allow_pickle=False)
          for key in dict.fromkeys(runtime_keys + scoring_keys)}
    submission, figures = load_submission(job, device, list(dict.fromkeys(img.shape[:2] for img in lr.values())))
    sources = output_sources(lr, runtime_keys, scoring_keys)
    from_trial: dict[str, list[str]] = {}
    for key, source in sources.items():
        from_trial.setdefault(source, []).append(key)

    def interleaved_trial(save: dict[str, list[str]]) -> tuple[list[float], list[float]]:
        """Both models on each image in turn (alternating who goes first), so a change in load or
        clock speed during the trial hits both alike; each image's two times are a pair. The
        submission's output on a runtime key in ``save`` is saved, after its clock stopped, as the
        output of those scoring keys."""
        seconds = {submission: [], baseline: []}
        with collector_paused():
            for i, key in enumerate(runtime_keys):
                for runner in (submission, baseline) if i % 2 == 0 else (baseline, submission):
                    out, image_seconds = runner.run(lr[key], device, key)
                    seconds[runner].append(image_seconds)
                    if runner is submission:
                        for scoring_key in save.get(key, ()):
                            save_output(submission, out, scoring_key)
                    del out
        submission.check_pure()
        baseline.check_pure()
        return seconds[submission], seconds[baseline]

    with torch.inference_mode():
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        warm_up(submission, lr, runtime_keys, device)
        (OUT / "sr").mkdir()
        scored_seconds = {}
        for key in scoring_keys:
            if key not in sources:
                out, scored_seconds[key] = submission.run(lr[key], device, key)
                save_output(submission, out, key)
                del out
        submission.check_pure()
        figures["peak_memory_bytes"] = (torch.cuda.max_memory_allocated(device) if device.type == "cuda"
                                        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        baseline, built = load_baseline(job, device, lr[runtime_keys[0]].shape[:2])
        warm_up(baseline, lr, runtime_keys, device)
        gc.collect()
        gc.freeze()  # the collections around each trial then skip everything loaded so far (0.2-0.4 s each)
        runs = job["timing"].get("runs", TRIALS)
        trials = [interleaved_trial(from_trial if trial == 0 else {}) for trial in range(runs)]
        sub_seconds, base_seconds = zip(*trials)
        check_time_per_pixel(submission, lr, runtime_keys, sub_seconds, scored_seconds, device)
    env = {**environment(device, job), "baseline": built, "trials": runs}
    export = ("one program for every image size" if submission.by_size is None else
              "one program per input size: " + ", ".join(f"{w}×{h}" for h, w in submission.by_size))
    return {**figures, "runtime_image_seconds": sub_seconds, "baseline_image_seconds": base_seconds, "environment": env,
            "export": export}


def main() -> None:
    job = json.loads((IN / "job.json").read_text())
    try:
        result = measure(job)
    except (TeamError, ProgramError) as exc:
        result = {"error": str(exc)}
    except PlatformError as exc:
        result = {"platform_error": str(exc)}
    except torch.OutOfMemoryError:  # CUDA's, outside the per-image guard (loading, counting, the baseline)
        result = {"error": "ran out of GPU memory while loading or measuring the model (the limit is "
                           f"{job.get('gpu_memory_fraction', 1):.0%} of the GPU's memory)"}
    except MemoryError:
        result = {"error": f"ran out of memory while running the model (the limit is {job['memory_gib']:g} GiB)"}
    (OUT / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # the result is written: skip tearing down torch's modules (0.8-2 s of a re-run)
