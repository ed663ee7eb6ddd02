"""Runtime trials and their statistics: the report's protocol (§2.3) made fair.

The report's runtime is the best of three consecutive trials, each the mean per-image forward time
over the runtime image set. A ``Measurement`` keeps every trial, so the spread between trials is
visible next to the figure (as ``torch.utils.benchmark.Measurement`` does), and names the device
it was taken on; the ratio to a baseline is meaningful only for two measurements taken in the
same job on the same device, trials interleaved. Pure Python: no torch.
"""

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass

TRIALS = 3
"""Consecutive trials per measurement; the best one is the runtime (report §2.3)."""


@dataclass(frozen=True)
class Measurement:
    """Per-trial mean seconds per image, the device, and how many images each trial covered."""

    trials: tuple[float, ...]
    device: str
    images: int

    def __post_init__(self) -> None:
        if not self.trials or any(t <= 0 for t in self.trials):
            raise ValueError(f"a measurement needs positive trial times, got {self.trials}")

    @property
    def best(self) -> float:
        """The runtime figure: the fastest trial's mean seconds per image."""
        return min(self.trials)

    @property
    def median(self) -> float:
        return statistics.median(self.trials)

    @property
    def spread(self) -> float:
        """(slowest − fastest) / fastest: how far apart the trials were; 0.05 means 5 %."""
        return (max(self.trials) - self.best) / self.best

    def __str__(self) -> str:
        return (f"{self.best * 1e3:.2f} ms/image best of {len(self.trials)} trials "
                f"(median {self.median * 1e3:.2f} ms, spread {self.spread:.1%}) "
                f"over {self.images} images on {self.device}")

    def to_dict(self) -> dict:
        return {**asdict(self), "trials": list(self.trials)}

    @classmethod
    def from_dict(cls, data: dict) -> "Measurement":
        return cls(trials=tuple(data["trials"]), device=data["device"], images=data["images"])


def trial_mean(image_seconds: Sequence[float]) -> float:
    """One trial's figure: the mean forward time per image."""
    if not image_seconds:
        raise ValueError("a trial needs at least one image")
    return sum(image_seconds) / len(image_seconds)


def runtime_ratio(submission: Measurement, baseline: Measurement) -> float:
    """Best over best: below 1 the submission is faster than the baseline on this device."""
    if submission.device != baseline.device:
        raise ValueError(f"cannot compare runtimes on {submission.device} and {baseline.device}")
    return submission.best / baseline.best
