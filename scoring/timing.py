"""Runtime trials and their statistics: the report's protocol (§2.3) made fair.

The report's runtime is the best of three consecutive trials, each the mean per-image forward time
over the runtime image set. A ``Measurement`` keeps every trial (and, when it has them, every
image's time in every trial), so the spread between trials is visible next to the figure (as
``torch.utils.benchmark.Measurement`` does), and names the device it was taken on.

The ratio to the baseline is meaningful only for two measurements taken in the same job on the
same device, the two models taking turns image by image; it is paired (``runtime_ratio``) rather
than best over best. On a shared CPU one image's time jumps by several per cent whenever a
neighbour wakes, and a trial's mean carries those jumps: over re-runs of one MSRResNet submission
the paired ratio spreads several times less than best over best (docs/benchmarks.md). Pure
Python: no torch.
"""

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass

TRIALS = 3
"""Consecutive trials per measurement where the bundle's ``timing.runs`` does not say (the AIM 2019
report's three, §2.3); the sandbox's measure_runner.py times the job's count, this file copied in
beside it, and the bundle's default is this."""


@dataclass(frozen=True)
class Measurement:
    """Per-trial mean seconds per image, the device, and how many images each trial covered."""

    trials: tuple[float, ...]
    device: str
    images: int
    image_seconds: tuple[tuple[float, ...], ...] = ()
    """Per trial, each image's seconds, in the order the images ran (empty if not recorded)."""

    def __post_init__(self) -> None:
        if not self.trials or any(not t > 0 for t in self.trials):
            raise ValueError(f"a measurement needs positive trial times, got {self.trials}")

    @classmethod
    def from_image_seconds(cls, image_seconds, device: str) -> "Measurement":
        """Trials from per-image times (a list per trial, every trial over the same images)."""
        per_trial = tuple(tuple(float(s) for s in trial) for trial in image_seconds)
        if not per_trial or len({len(trial) for trial in per_trial}) != 1:
            raise ValueError("every trial must time the same, non-empty set of images")
        if any(not s > 0 for trial in per_trial for s in trial):
            raise ValueError("image times must be positive seconds")
        return cls(tuple(trial_mean(trial) for trial in per_trial), device, len(per_trial[0]), per_trial)

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
        return {**asdict(self), "trials": list(self.trials), "image_seconds": [list(t) for t in self.image_seconds]}

    @classmethod
    def from_dict(cls, data: dict) -> "Measurement":
        return cls(trials=tuple(data["trials"]), device=data["device"], images=data["images"],
                   image_seconds=tuple(tuple(t) for t in data.get("image_seconds", ())))


def runtime_figure(measurement: Measurement, protocol: str = "best_of") -> tuple[float, str]:
    """The runtime a bundle's ``timing.protocol`` makes of the trials, and how it was made, as it is
    recorded with the figures: ``best_of`` the fastest trial (AIM 2019), ``mean_of`` their mean
    (NTIRE 2024+: "the average results of these five runs")."""
    trials = len(measurement.trials)
    if protocol == "best_of":
        return measurement.best, f"best of {trials} trials"
    if protocol == "mean_of":
        return statistics.fmean(measurement.trials), f"mean of {trials} trials"
    raise ValueError(f"unknown timing protocol {protocol!r}")


def trial_mean(image_seconds: Sequence[float]) -> float:
    """One trial's figure: the mean forward time per image."""
    if not image_seconds:
        raise ValueError("a trial needs at least one image")
    return sum(image_seconds) / len(image_seconds)


def runtime_ratio(submission: Measurement, baseline: Measurement) -> float:
    """Submission / baseline on one device, paired image by image; below 1 the submission is faster.

    For each image, the median over the trials of the two times taken back to back (one noisy
    trial of three cannot move it), then the mean of those ratios weighted by the baseline's best
    time on each image. Without noise this is exactly the ratio of the mean times per image (a
    model cannot look fast by being quick on the small images only); with noise it is what the
    ratio of the best trials estimates, with a fraction of the spread.
    """
    if submission.device != baseline.device:
        raise ValueError(f"cannot compare runtimes on {submission.device} and {baseline.device}")
    sub, base = submission.image_seconds, baseline.image_seconds
    if not sub or len(sub) != len(base) or any(len(s) != len(b) for s, b in zip(sub, base)):
        raise ValueError("a paired ratio needs both models' per-image times, over the same trials and images")
    weights = [min(times) for times in zip(*base)]
    ratios = [statistics.median(s / b for s, b in zip(sub_image, base_image))  # over the trials
              for sub_image, base_image in zip(zip(*sub), zip(*base))]
    return math.fsum(w * r for w, r in zip(weights, ratios)) / math.fsum(weights)
