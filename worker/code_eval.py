"""Re-running a team's model: build and export it in the sandbox, measure it, score its outputs.

The one entry point is ``evaluate_code_submission``. It runs in the worker (trusted; as root, so
the sandbox can switch to its own user) and never imports the team's code:

1. stage 1, untrusted (``sandbox/export_runner.py``): a copy of the submission files only; imports
   model.py, loads the weights, exports the model as a plain-data program;
2. stage 2, trusted code on untrusted data (``sandbox/measure_runner.py``): the program, its
   weights and the LR images; counts, times against MSRResNet and writes SR images;
3. here: PSNR of those SR images against the HR images, which neither stage can see.

Team-caused failures raise ``CodeRunError`` (a ``SubmissionError``: ``str(err)`` is the reason,
``err.log`` the capped log); ``SandboxUnavailable`` and other exceptions are the platform's.
No Celery, database or web code here; see docs/security.md for the threat model.
"""

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from scoring.baselines import timed_baseline
from scoring.bounds import check_figures
from scoring.errors import SubmissionError
from scoring.naming import lr_name
from scoring.psnr import SHAVE_BORDER, ImagePSNR, mean_psnr, psnr
from scoring.team_yaml import load_team_yaml
from scoring.timing import Measurement, runtime_ratio
from worker.data_range_check import CHECKED_IMAGES, clipped_share, data_range_hint
from worker.sandbox.gpu import GPU
from worker.sandbox.launcher import GiB, SandboxLimits, SandboxRun, SandboxUnavailable, run_in_sandbox
from worker.timing_slot import timing_slot

SANDBOX_DIR = Path(__file__).with_name("sandbox")
SCORING_DIR = Path(__file__).parent.parent / "scoring"
FLOPS_SHAPE = (256, 256)
"""MACs are counted on a 1×3×256×256 LR input, as the NTIRE efficient-SR challenges (2022-) count
their "FLOPs" (RFDN: 27.10 G there; papers of the CARN era count "Mult-Adds" for a 1280×720 output)."""
MACS_INPUT = "1×3×256×256"
MACS_CONSISTENCY = 0.5
"""The counted size's MACs per pixel may not fall below this share of the least on the images, nor
the timed images' below this share of the most on the scored images: a model can do less work at
256×256, where nothing is scored, or at the timed sizes, than on the images it is scored on
(integer arithmetic on its input size needs no branch). Padding to a window leaves honest models
near 1; only attention over the whole image grows faster than the pixels."""
BUILD_SEED = 0
"""The export stage seeds torch, numpy and random with this before importing model.py, so a zip
without weights is the same network on every run; recorded as the environment's ``build_seed``."""
STAGE1_FILES = [SANDBOX_DIR / "export_runner.py", SANDBOX_DIR / "program.py", SANDBOX_DIR / "allowed_ops.py"]
STAGE2_FILES = [SANDBOX_DIR / "measure_runner.py", SANDBOX_DIR / "program.py", SANDBOX_DIR / "allowed_ops.py",
                SANDBOX_DIR / "stored.py", SANDBOX_DIR / "macs.py", SCORING_DIR / "params.py",
                SCORING_DIR / "msrresnet.py", SCORING_DIR / "imdn.py", SCORING_DIR / "rfdn.py", SCORING_DIR / "rlfn.py",
                SCORING_DIR / "efdn.py", SCORING_DIR / "span.py", SCORING_DIR / "timing.py"]
ONE_PROGRAM = "program-any.json"
RESULT_BYTES = 1 << 20
YAML_BYTES = 64 << 10
PYTHON = ["python", "-E", "-s", "-B"]  # not -I: the runner's directory must be on sys.path
STAGE1_OUTPUTS = ["result.json", "program-*.json", "weights.safetensors"]
STAGE2_OUTPUTS = ["result.json", "sr/*.npy"]


class CodeRunError(SubmissionError):
    """A team-caused failure of a code submission; ``log`` is the capped output of the sandbox,
    as the team will read it (``team_text``); ``hit_wall_limit``: a stage ran out of its wall time."""

    def __init__(self, reason: str, log: str, hit_wall_limit: bool = False) -> None:
        super().__init__(team_text(reason))
        self.log = team_text(log)
        self.hit_wall_limit = hit_wall_limit


def team_text(text: str) -> str:
    """The sandbox sees the Python installation at its host paths; the team reads ``<python>``
    instead (torch's own warnings and frames name them), never the worker's folders."""
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    prefixes |= {p for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    for prefix in sorted(prefixes - {"/"}, key=len, reverse=True):
        text = text.replace(prefix.rstrip("/") + "/", "<python>/")
    return text


def _team_error(error: str, log: str) -> CodeRunError:
    """A one-line reason; a traceback of the team's code goes to the end of its log."""
    if "Traceback (most recent call last)" not in error:
        return CodeRunError(error, log)
    head = error.split("\n", 1)[0].rstrip(": ")
    last = next(line for line in reversed(error.splitlines()) if line.strip())
    return CodeRunError(f"{head}: {last.strip()} (traceback in the log)", f"{log.rstrip()}\n== error ==\n{error}")


@dataclass(frozen=True)
class CodeEvaluation:
    """Everything measured for one code submission.

    ``stored`` counts every other number the model carries (buffers, constant tensors, literals in
    the graph; ``sandbox/stored.py``): a model could carry weights there instead of in parameters.
    ``runtime``/``baseline_runtime`` are seconds per image on the same device, image by image in
    turns; ``runtime_ratio`` is paired (scoring/timing.py). ``macs`` (multiply-accumulates, what
    efficient-SR tables call FLOPs) is for one 1×3×256×256 input; ``products`` names the other
    multiplications of tensors there (elementwise, norms, ``prod``: ``sandbox/macs.py``), by operator. ``peak_memory_bytes``: peak CUDA
    allocation on GPU, peak RSS of the measuring process on CPU, both before the baseline is loaded. ``metadata`` is the team's
    submission.yaml (self-reported, unverified).
    """

    params: int
    stored: dict
    runtime: Measurement
    baseline_runtime: Measurement
    runtime_ratio: float
    psnr: float
    image_psnr: dict[str, ImagePSNR]
    macs: int
    products: dict[str, int]
    peak_memory_bytes: int
    environment: dict
    file_hashes: dict[str, str]
    data_range: float
    metadata: dict
    export: str
    log: str


def read_metadata(code_dir: Path) -> dict:
    """submission.yaml, checked: ``data_range`` is 1 or 255 (default 1)."""
    path = code_dir / "submission.yaml"
    if not path.is_file():
        return {"data_range": 1.0}
    if path.stat().st_size > YAML_BYTES:
        raise SubmissionError(f"submission.yaml is larger than {YAML_BYTES >> 10} KiB")
    try:
        meta = load_team_yaml(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SubmissionError(f"submission.yaml is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise SubmissionError("submission.yaml must be a mapping (key: value lines)")
    data_range = meta.get("data_range", 1.0)
    if isinstance(data_range, bool) or data_range not in (1, 255):
        raise SubmissionError(f"submission.yaml: data_range must be 1.0 or 255, not {data_range!r}")
    return {**meta, "data_range": float(data_range)}


def hash_files(code_dir: Path) -> dict[str, str]:
    """sha256 of every submitted file, by relative path; links and special files are refused."""
    hashes = {}
    for path in sorted(code_dir.rglob("*")):
        name = path.relative_to(code_dir).as_posix()
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise SubmissionError(f"{name} is not a regular file or folder")
        if path.is_file():
            digest = hashlib.sha256()
            with path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
            hashes[name] = digest.hexdigest()
    return hashes


def _readable_copy(src: Path, dest: Path) -> None:
    """Copy for the sandbox user: root-owned, world-readable, nothing writable or executable."""
    if src.is_dir():
        dest.mkdir(mode=0o755)
        dest.chmod(0o755)
        for child in src.iterdir():
            _readable_copy(child, dest / child.name)
    else:
        shutil.copyfile(src, dest)
        dest.chmod(0o644)


def _input_dir(stage_dir: Path, job: dict, files: list[Path]) -> Path:
    input_dir = stage_dir / "in"
    input_dir.mkdir(mode=0o755, parents=True)
    input_dir.chmod(0o755)
    for src in files:
        _readable_copy(src, input_dir / src.name)
    (input_dir / "job.json").write_text(json.dumps(job))
    (input_dir / "job.json").chmod(0o644)
    return input_dir


def _result(run: SandboxRun, limits: SandboxLimits, doing: str) -> dict:
    """The stage's result.json, or a team-facing reason why there is none."""
    reason = run.kill_reason(limits)
    if reason:
        raise CodeRunError(f"the model was {reason} while {doing}", run.log, hit_wall_limit=run.status["timed_out"])
    if run.status["output_error"]:
        raise CodeRunError(f"the sandbox refused the model's outputs while {doing}: {run.status['output_error']}",
                           run.log)
    path = run.result_dir / "result.json"
    if not path.is_file() or path.stat().st_size > RESULT_BYTES:
        raise CodeRunError(f"the sandbox ended without a result while {doing} "
                           f"(exit code {run.status['exit_code']}); see the log", run.log)
    try:
        result = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError, RecursionError):  # stage 1's file is the team's: [[[[... too
        raise CodeRunError(f"the sandbox left an unreadable result while {doing}; see the log", run.log) from None
    if not isinstance(result, dict):
        raise CodeRunError(f"the sandbox left an unreadable result while {doing}; see the log", run.log)
    if "error" in result:
        raise _team_error(str(result["error"]), run.log)
    return result


def _measurement(measured: dict, field: str, device: str, images: int, log: str) -> Measurement:
    """A model's per-image times from the measuring sandbox, checked: a trial per entry, an image each."""
    try:
        measurement = Measurement.from_image_seconds(measured[field], device)
    except (KeyError, TypeError, ValueError):
        measurement = None
    if measurement is None or measurement.images != images:
        raise CodeRunError(f"the measuring stage left malformed {field.replace('_', ' ')}; see the log", log)
    return measurement


def device_job(gpu: GPU | None, limits: SandboxLimits) -> dict:
    """What the measuring stage must run on: ``device`` is required, never a preference."""
    if gpu is None:
        return {"device": "cpu"}
    return {"device": "cuda", "gpu_uuid": gpu.uuid, "gpu_memory_fraction": limits.gpu_memory_fraction}


def check_device(measured: dict, gpu: GPU | None) -> None:
    """The measuring stage ran where the job said, or the run is the platform's failure (a broken
    driver mount must not record CPU seconds as a GPU figure, nor be blamed on the team)."""
    if "platform_error" in measured:
        raise SandboxUnavailable(f"the measuring stage could not use its device: {measured['platform_error']}")
    env = measured.get("environment") if isinstance(measured.get("environment"), dict) else {}
    wanted = "cuda" if gpu else "cpu"
    if env.get("device_type") != wanted or (gpu and str(env.get("gpu_uuid", "")).lower() != gpu.uuid.lower()):
        ran_on = " ".join(str(part) for part in (env.get("device_type"), env.get("gpu_uuid")) if part)
        required = " ".join(part for part in (wanted, gpu.uuid if gpu else None) if part)
        raise SandboxUnavailable(f"the measuring stage ran on {ran_on or 'an unrecorded device'}, "
                                 f"but the job required {required}")


def check_macs_per_pixel(measured: dict, timed_shapes: set, scored_shapes: set, log: str) -> None:
    """The MACs figure and the time describe the model only if it does, per pixel, the work it does on
    the images it is scored on: at the counted size (1×3×256×256, where no image is scored), and at
    the timed images' sizes (integer arithmetic on the input size can crop the network's input at one
    width with no branch and no failing guard, so the timed images would cost a fraction of the rest)."""
    by_size = {(h, w): flops for h, w, flops in measured["flops_per_pixel_by_size"]}
    scored = max(by_size[shape] for shape in scored_shapes)
    timed_shape = min(timed_shapes, key=lambda shape: by_size[shape])
    if scored > 0 and by_size[timed_shape] < MACS_CONSISTENCY * scored:
        scored_shape = max(scored_shapes, key=lambda shape: by_size[shape])
        raise CodeRunError(
            f"the model does {scored / max(by_size[timed_shape], 1e-9):,.1f}× less work per pixel on the timed "
            f"images ({_size(timed_shape)}) than on the images it is scored on ({_size(scored_shape)}); its runtime "
            "would not describe it, so it is refused (a network does the same work per pixel at every size)", log)
    counted = measured["flops"] / (FLOPS_SHAPE[0] * FLOPS_SHAPE[1])
    on_images = min(by_size.values())
    if on_images > 0 and counted < MACS_CONSISTENCY * on_images:
        raise CodeRunError(
            f"the model does {on_images / max(counted, 1e-9):,.0f}× less work per pixel at {MACS_INPUT}, where MACs "
            "are counted, than on the images it is scored on; its MACs cannot be stated fairly, so it is refused "
            "(ask the organizers if the model really works so)", log)


def _size(shape: tuple[int, int]) -> str:
    return f"{shape[1]}×{shape[0]}"


def checked_products(measured: dict, log: str) -> dict[str, int]:
    """The measuring stage's ``products`` (operator → count), checked before it is stored."""
    products = measured.get("products")
    if not (isinstance(products, dict) and len(products) <= 64
            and all(isinstance(k, str) and len(k) <= 64 and type(v) is int and 0 <= v < 2**63
                    for k, v in products.items())):
        raise CodeRunError("the measuring stage left malformed products; see the log", log)
    return products


def exported_programs(exported: dict, shapes: list[tuple[int, int]], log: str) -> dict:
    """Stage 2's job keys for the programs stage 1 names: ``program`` (one for every size), or
    ``programs``, one per distinct input size and the MACs size, named by it. Stage 2 checks again
    which program each file holds (its recorded size) and that all share the one weights file."""
    program = exported.get("program")
    if program == ONE_PROGRAM:
        return {"program": program}
    names = exported.get("programs")
    expected = {f"program-{h}x{w}.json" for h, w in [*shapes, FLOPS_SHAPE]}
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or set(names) != expected \
            or len(names) != len(expected):
        raise CodeRunError("the export stage did not name one program for every image size, nor one program "
                           "per input size; see the log", log)
    return {"programs": sorted(names)}


def _capped(text: str, cap: int) -> str:
    """The last ``cap`` characters of ``text``, saying when earlier ones were dropped."""
    return text if len(text) <= cap else "[... earlier output dropped ...]\n" + text[-cap:]


def _join_logs(stage1: str, stage2: str, cap: int) -> str:
    return _capped(f"== building and exporting the model ==\n{stage1}\n== measuring ==\n{stage2}", cap)


def evaluate_code_submission(code_dir: Path, lr_dir: Path, hr_dir: Path, runtime_keys: list[str] | None,
                             scoring_keys: list[str], limits: SandboxLimits, work_dir: Path,
                             *, scale: int, hidden: tuple[Path, ...] = (),
                             shave: int = SHAVE_BORDER, gpu: GPU | None = None,
                             baseline: dict | None = None, timing: dict | None = None,
                             on_stage: Callable[[str], None] = lambda _stage: None) -> CodeEvaluation:
    """Build, export, measure and score the model in ``code_dir``.

    ``scale`` and ``shave`` (pixels ignored on each border) are the competition bundle's.
    ``lr_dir`` holds ``<key>x<scale>.png`` inputs, ``hr_dir`` the hidden ``<key>.npy`` (uint8 H×W×3),
    read only here. ``runtime_keys`` (default: ``scoring_keys``) are timed, ``scoring_keys``
    scored for PSNR. ``work_dir`` must not exist yet; it is left in place for the caller to
    remove. ``hidden`` names more paths (database, data dir) that the sandbox must not be able
    to reach; the call refuses to run if any could be. ``gpu``: the GPU this worker times on (None:
    a CPU job); the measuring stage must run on it, else the run is the platform's failure.
    ``baseline`` ({"name", "scale"}) and ``timing`` ({"protocol", "runs"}) are the bundle's, written
    into the measuring job for the sandbox, which builds that baseline (or a stand-in where it cannot:
    scoring/baselines.py) and times ``timing["runs"]`` trials (default ``scoring.timing.TRIALS``).
    ``on_stage`` hears each stage as this (trusted) side starts it, and each image it scores.
    """
    runtime_keys = list(runtime_keys or scoring_keys)
    metadata = read_metadata(code_dir)
    data_range = metadata["data_range"]
    file_hashes = hash_files(code_dir)
    secrets = [hr_dir, *hidden]
    work_dir.mkdir(mode=0o700, parents=True)
    lr = {key: np.asarray(Image.open(lr_dir / lr_name(key, scale)).convert("RGB"))
          for key in dict.fromkeys(runtime_keys + scoring_keys)}
    shapes = list(dict.fromkeys(img.shape[:2] for img in lr.values()))
    limit_info = {"memory_gib": limits.memory_bytes / GiB, "disk_mib": limits.disk_bytes >> 20,
                  "file_mib": limits.file_size_bytes >> 20}

    stage1_job = {"data_range": data_range, "shapes": shapes, "counted_shape": FLOPS_SHAPE, "seed": BUILD_SEED,
                  **limit_info}
    stage1_in = _input_dir(work_dir / "stage1", stage1_job, STAGE1_FILES)
    _readable_copy(code_dir, stage1_in / "submission")
    on_stage(f"building and exporting the model (sandbox stage 1 of 2, at most {limits.wall_seconds:g} s)")
    stage1 = run_in_sandbox([*PYTHON, "/sandbox/in/export_runner.py"], stage1_in, work_dir / "stage1" / "job",
                            limits, hidden=secrets, outputs=STAGE1_OUTPUTS)
    exported = _result(stage1, limits, "building and exporting it")
    programs = exported_programs(exported, shapes, stage1.log)

    job = {"data_range": data_range, "runtime_keys": runtime_keys, "scoring_keys": scoring_keys,
           **programs, "flops_shape": FLOPS_SHAPE, "scale": scale, **limit_info,
           "baseline": timed_baseline(**(baseline or {"name": "MSRResNet", "scale": scale})), "timing": timing or {},
           **device_job(gpu, limits)}
    stage2_in = _input_dir(work_dir / "stage2", job, STAGE2_FILES)
    for sub in ("exported", "lr"):
        (stage2_in / sub).mkdir(mode=0o755)
    for name in [*programs.get("programs", [programs.get("program")]), "weights.safetensors"]:
        if not (stage1.result_dir / name).is_file():
            raise CodeRunError(f"the export stage did not produce {name}; see the log", stage1.log)
        _readable_copy(stage1.result_dir / name, stage2_in / "exported" / name)
    for key, image in lr.items():
        np.save(stage2_in / "lr" / f"{key}.npy", image)
        (stage2_in / "lr" / f"{key}.npy").chmod(0o644)
    on_stage("waiting for this device's timing slot (one measuring stage at a time)")
    with timing_slot(limits.timing_lock_dir, gpu.uuid if gpu else None):  # the timing stage runs alone
        on_stage(f"measuring: parameters, MACs, {len(runtime_keys)} images timed against the baseline "
                 f"(sandbox stage 2 of 2, at most {limits.wall_seconds:g} s)")
        stage2 = run_in_sandbox([*PYTHON, "/sandbox/in/measure_runner.py"], stage2_in, work_dir / "stage2" / "job",
                                limits, hidden=secrets, outputs=STAGE2_OUTPUTS, gpu=gpu, cpus=limits.timing_cpus)
    log = _join_logs(stage1.log, stage2.log, limits.log_bytes)
    measured = _result(SandboxRun(stage2.status, log, stage2.result_dir, stage2.uid), limits, "being measured")
    check_device(measured, gpu)
    check_macs_per_pixel(measured, {lr[k].shape[:2] for k in runtime_keys}, {lr[k].shape[:2] for k in scoring_keys},
                         log)

    image_psnr, clipped, checked_hr = {}, {}, {}
    for index, key in enumerate(scoring_keys, start=1):
        on_stage(f"scoring image {index} of {len(scoring_keys)}")
        h, w = lr[key].shape[:2]
        sr_path = stage2.result_dir / "sr" / f"{key}.npy"
        if not sr_path.is_file() or sr_path.stat().st_size > scale * scale * h * w * 3 + 4096:
            raise CodeRunError(f"no output was recorded for {key}; see the log", log)
        try:
            sr = np.load(sr_path, allow_pickle=False)
        except (ValueError, OSError, EOFError):
            sr = None
        if not isinstance(sr, np.ndarray) or sr.dtype != np.uint8 or sr.ndim != 3 or sr.shape[2] != 3:
            raise CodeRunError(f"the output recorded for {key} is not an 8-bit RGB image; see the log", log)
        hr = np.load(hr_dir / f"{key}.npy", mmap_mode="r", allow_pickle=False)
        image_psnr[key] = psnr(sr, hr, shave, name=key)
        if len(clipped) < CHECKED_IMAGES:
            clipped[key], checked_hr[key] = clipped_share(sr), hr
    hint = data_range_hint(lr, checked_hr, image_psnr, clipped, data_range)
    if hint:
        section = f"\n== scoring ==\n{hint}\n"  # kept whole: the log stays within its cap
        log = _capped(log.rstrip(), max(limits.log_bytes - len(section), 0)) + section

    device = measured["environment"]["device"]
    runtime, baseline = (_measurement(measured, f"{side}_image_seconds", device, len(runtime_keys), log)
                         for side in ("runtime", "baseline"))
    evaluation = CodeEvaluation(
        params=measured["params"], stored=measured["stored"], runtime=runtime, baseline_runtime=baseline,
        runtime_ratio=runtime_ratio(runtime, baseline), psnr=mean_psnr(list(image_psnr.values())),
        image_psnr=image_psnr, macs=measured["flops"] // 2,  # torch's FlopCounterMode counts 2 per multiply-accumulate
        products=checked_products(measured, log),
        peak_memory_bytes=measured["peak_memory_bytes"],
        environment={**measured["environment"], "build_seed": BUILD_SEED}, file_hashes=file_hashes, data_range=data_range,
        metadata=metadata, export=measured["export"], log=team_text(log),
    )
    check_measured_figures(evaluation)
    return evaluation


def check_measured_figures(evaluation: CodeEvaluation) -> None:
    """Each figure within what the platform records (scoring/bounds.py), else the team's failure:
    MACs counted on the meta device can pass 2^63, which no database column holds."""
    try:
        check_figures({
            "params": evaluation.params, "macs": evaluation.macs, "peak_memory_bytes": evaluation.peak_memory_bytes,
            "stored": evaluation.stored, "psnr": evaluation.psnr, "runtime_ratio": evaluation.runtime_ratio,
            "runtime": evaluation.runtime.best, "runtime_baseline": evaluation.baseline_runtime.best,
            "runtime_measurement": evaluation.runtime.to_dict(),
            "baseline_measurement": evaluation.baseline_runtime.to_dict()})
    except SubmissionError as err:
        raise CodeRunError(str(err), evaluation.log) from None
