"""Runs inside the real sandbox for ``bench.gpu_check`` (measuring stage's view: measure_runner.py,
program.py, msrresnet.py, params.py under /sandbox/in). Writes /sandbox/out/result.json.

Checks here, on the device the job names: the GPU seen is exactly one, the assigned one; TF32 is
really off (a convolution and a matmul against float64 references); the harness (the exported
MSRResNet interpreted by ``program.Program``, timed by ``Runner.run``) against the eager model at a
DIV2K size, image by image in turns, best of three trials; no synchronization inside the forward.
"""

import json
import sys
from pathlib import Path

import torch

IN, OUT = Path("/sandbox/in"), Path("/sandbox/out")
sys.path.insert(0, str(IN))

import measure_runner  # noqa: E402 - laid out by the caller, as the measuring stage's files are
from msrresnet import MSRResNet  # noqa: E402


def device_report(job: dict) -> tuple[torch.device, dict]:
    device = measure_runner.job_device(job)
    report = {"device_type": device.type, "device_count": torch.cuda.device_count() if device.type == "cuda" else 0}
    if device.type == "cuda":
        report["uuid"] = measure_runner.gpu_uuid(device)
    return device, report


def tf32_error(device: torch.device) -> dict:
    """Relative error of fp32 against float64: about 1e-7..1e-6 in fp32, about 1e-3 with TF32."""
    gen = torch.Generator().manual_seed(0)
    x, w = torch.randn(1, 64, 96, 96, generator=gen), torch.randn(64, 64, 3, 3, generator=gen)
    a, b = torch.randn(512, 512, generator=gen), torch.randn(512, 512, generator=gen)
    with torch.inference_mode():
        conv = torch.nn.functional.conv2d(x.to(device), w.to(device), padding=1).cpu().double()
        conv_ref = torch.nn.functional.conv2d(x.double(), w.double(), padding=1)
        mm = (a.to(device) @ b.to(device)).cpu().double()
        mm_ref = a.double() @ b.double()
    rel = lambda got, ref: float((got - ref).abs().max() / ref.abs().max())  # noqa: E731
    return {"conv": rel(conv, conv_ref), "matmul": rel(mm, mm_ref)}


def harness_against_eager(device: torch.device, shape: tuple[int, int], images: int) -> dict:
    """Per-image seconds, best of three trials, of the harness (``Runner.run`` on the exported
    MSRResNet) and of a bare loop over the eager model with the same weights, in turns."""
    lr = [torch.randint(0, 256, (*shape, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(i)).numpy()
          for i in range(images)]
    harness, _ = measure_runner.load_baseline({"baseline": {"name": "MSRResNet", "scale": 4}}, device, shape)
    torch.manual_seed(0)  # load_baseline's weights
    eager = MSRResNet().eval().to(device)
    program = harness.program
    trials = {"harness": [], "eager": []}
    with torch.inference_mode():
        sync_free = no_sync_inside(program, measure_runner.input_tensor(lr[0], device, 1.0))
        measure_runner.warm_up(harness, {"k": lr[0]}, ["k"], device)
        for _ in range(3):
            bare_seconds(eager, lr[0], device)
        for _ in range(3):
            seconds = {"harness": 0.0, "eager": 0.0}
            for i, image in enumerate(lr):
                for name in ("harness", "eager") if i % 2 == 0 else ("eager", "harness"):
                    seconds[name] += (harness.run(image, device, f"image {i}")[1] if name == "harness"
                                      else bare_seconds(eager, image, device))
            for name in trials:
                trials[name].append(seconds[name] / images)
    return {"trials": trials, "sync_free": sync_free}


def bare_seconds(model: torch.nn.Module, lr, device: torch.device) -> float:
    """The eager model timed the way ``Runner.run`` times: a fresh input, the harness's own clock."""
    return measure_runner.timed_forward(model, measure_runner.input_tensor(lr, device, 1.0), device)[1]


def no_sync_inside(program, x: torch.Tensor) -> bool | None:
    """True if one forward of the harness makes no host-device synchronization (None on CPU)."""
    if x.device.type != "cuda":
        return None
    torch.cuda.synchronize(x.device)
    torch.cuda.set_sync_debug_mode("error")
    try:
        program(x)
        return True
    except RuntimeError:
        return False
    finally:
        torch.cuda.set_sync_debug_mode("default")
        torch.cuda.synchronize(x.device)


def main() -> None:
    job = json.loads((IN / "job.json").read_text())
    measure_runner.fair_backends()
    device, report = device_report(job)
    report["tf32_error"] = tf32_error(device)
    report["tf32_flags"] = {"cudnn": torch.backends.cudnn.allow_tf32, "matmul": torch.backends.cuda.matmul.allow_tf32}
    report["overhead"] = harness_against_eager(device, tuple(job["shape"]), job["images"])
    (OUT / "result.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main()
