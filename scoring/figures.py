"""The figures a board ranks and the records that carry them: one team's entry, and the baseline's.

Kept apart from the rules (scoring/ranking.py) so that the scores of every rule kind
(scoring/scores.py) can read them without importing the rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Figure = Literal["params", "runtime", "psnr", "macs", "activations", "memory"]
FigureSource = Literal["measured", "self_reported"]

FIGURES: tuple[Figure, ...] = ("params", "runtime", "psnr", "macs", "activations", "memory")
"""Every figure a track may rank, sum ranks of, weigh, or bound; only PSNR is better when larger.
``macs`` are the efficient-SR tables' "FLOPs" (multiply-accumulates at 1×3×256×256),
``activations`` the elements of every convolution's output there, ``memory`` peak bytes."""

ENTRY_FIELD: dict[str, str] = {"memory": "peak_memory_bytes"}
"""The Entry (and BaselineFigures) attribute of a figure where its name differs."""


@dataclass(frozen=True)
class Entry:
    """One team's standing submission on one track, with the figures the ranking uses.

    ``psnr`` is in dB, ``runtime`` in seconds per image, ``params`` a count. ``runtime_ratio`` is
    runtime / baseline runtime measured on the same device in the same job; it is what the runtime
    constraint uses when present. The ``*_self_reported`` figures are the team's own (readme.txt);
    ``select_figures`` swaps them in for phases that rank self-reported figures.
    ``stored_numbers`` and ``literals`` count what a re-run model carries besides its parameters
    (numbers in buffers and constant tensors; numbers written into its graph); ``held`` is the
    remark of an entry kept unranked by the organizers' review (scoring/review.py).
    ``macs`` (multiply-accumulates for a 1×3×256×256 input, the efficient-SR tables' "FLOPs"),
    ``activations`` (elements of every convolution's output at that input) and
    ``peak_memory_bytes`` are ranked only by tracks that name them; ``device`` is where they were
    measured; ``uses_gpu_self_reported``, the readme's CPU/GPU flag.
    """

    team: str
    track: str
    psnr: float | None
    params: int | None
    runtime: float | None
    runtime_ratio: float | None = None
    params_self_reported: int | None = None
    runtime_self_reported: float | None = None
    runtime_baseline_self_reported: float | None = None
    gpu: str | None = None
    extra_data: bool | None = None
    description: str = ""
    submitted_at: datetime | None = None
    is_baseline: bool = False
    submission_id: str | None = None
    dataset_version: str | None = None
    """Which version of the hidden set the figures were scored on (shown, never ranked on)."""
    stored_numbers: int | None = None
    literals: int | None = None
    held: str | None = None
    macs: int | None = None
    peak_memory_bytes: int | None = None
    device: str | None = None
    uses_gpu_self_reported: bool | None = None
    activations: int | None = None


@dataclass(frozen=True)
class BaselineFigures:
    """The baseline's figures on this phase (test phase: 28.70 dB, 1,517,571, 0.130 s).

    ``psnr`` is None where the baseline was not measured on the phase's images (its DIV2K figure
    says nothing about other photos); ``psnr_note`` says why. Then no entry is held to a PSNR
    bound, and the baseline row takes no rank on a track that ranks PSNR.
    """

    psnr: float | None
    params: int
    runtime: float
    name: str = "MSRResNet"
    gpu: str | None = None
    extra_data: bool | None = None
    psnr_note: str | None = None
    macs: int | None = None
    activations: int | None = None
    peak_memory_bytes: int | None = None

    def __post_init__(self) -> None:
        if not self.runtime > 0:
            raise ValueError(f"the baseline runtime must be positive seconds, got {self.runtime!r}")


def figure_of(record: Entry | BaselineFigures, figure: Figure) -> float | int | None:
    return getattr(record, ENTRY_FIELD.get(figure, figure))


def present(value: float | int | None) -> bool:
    """A figure that can be compared: NaN counts as missing, so it cannot sort anywhere by accident."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def directed(value: float | int | None, figure: Figure) -> tuple[bool, float]:
    """Smaller is better; a missing figure sorts after every present one."""
    if not present(value):
        return (True, 0.0)
    return (False, -value if figure == "psnr" else value)  # type: ignore[operator]
