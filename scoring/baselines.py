"""The baseline models a bundle may name: the efficient-SR challenges' reference networks.

Each challenge holds entries to (or normalises them by) one of these, timed in the same job on the
same device at the bundle's scale. The bundle names one and its scale; the measuring sandbox
builds it (worker/sandbox/measure_runner.py, from the definitions in scoring/: msrresnet.py,
imdn.py, rfdn.py, rlfn.py, efdn.py, span.py), with random seeded weights: its time does not depend
on them.
"""

from typing import Literal

BaselineName = Literal["MSRResNet", "IMDN", "RFDN", "RLFN", "EFDN", "SPAN"]

SHIPPED_BASELINES: dict[str, str] = {
    "MSRResNet": "AIM 2019 and AIM 2020 (Wang et al., 2018, the SRResNet without batch norm)",
    "IMDN": "NTIRE 2022 (Hui et al., 2019, AIM 2019's winner)",
    "RFDN": "NTIRE 2023 (Liu et al., 2020, AIM 2020's winner)",
    "RLFN": "NTIRE 2024 (Kong et al., 2022, NTIRE 2022's winner)",
    "EFDN": "NTIRE 2025 (Wang, 2023, NTIRE 2023's overall winner)",
    "SPAN": "NTIRE 2026 (Wan et al., 2024, NTIRE 2024's winner)",
}
"""Name → the challenge that uses it and where it comes from."""

BUILT_IN_SANDBOX: dict[str, tuple[int, ...]] = {name: (2, 3, 4) for name in SHIPPED_BASELINES}
"""The baselines the measuring sandbox builds, and at which scales."""
STAND_IN = {"name": "MSRResNet", "scale": 4}
"""What the job times where the bundle's baseline is not built at its scale (above ×4): its figures are
dropped (``not_timed_in_job``)."""


def not_timed_in_job(name: str, scale: int) -> str | None:
    """Why the baseline the sandbox times beside a submission is not the bundle's (None: it is).
    Its ratio then compares with another model (x4 MSRResNet on x2 inputs: any x2 model "passed"),
    so the ranking must use the phase's baseline runtime instead."""
    if scale in BUILT_IN_SANDBOX.get(name, ()):
        return None
    return (f"the measuring sandbox does not build {name} at ×{scale} yet: the runtime is compared with the "
            "phase's baseline runtime, not with a baseline timed in this job")


def timed_baseline(name: str, scale: int) -> dict:
    """The network the measuring job times beside the submission: the bundle's where the sandbox builds
    it, else ``STAND_IN`` (the job keeps its shape; the worker drops its figures)."""
    return {"name": name, "scale": scale} if not_timed_in_job(name, scale) is None else dict(STAND_IN)
