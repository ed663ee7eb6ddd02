"""Per-track eligibility and ranking: a pure function of stored figures.

The AIM 2019 rule (report §3): each track ranks one figure, and "solutions with worse fidelity
(PSNR), inference time, or number of parameters than the MSRResNet baseline are not ranked" — on
every track, the ranked figure included (Table 2 leaves neptuneai unranked for its runtime alone).
"Worse" allows a tolerance per figure, set in the competition bundle; docs/ranking.md derives the
values from the report's Tables 1–3. The baseline is a row of its own and takes a rank like any
entry. A missing figure makes an entry unranked with a reason; it never sorts to the top.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

Figure = Literal["params", "runtime", "psnr"]
FigureSource = Literal["measured", "self_reported"]

FIGURES: tuple[Figure, ...] = ("params", "runtime", "psnr")
"""Every figure a track may rank or break ties by; only PSNR is better when larger."""

TRACK_SLUG = r"[a-z0-9][a-z0-9-]{0,31}"

BASELINE_TEAM = "Baseline"
"""The baseline row's team name, as the report's tables print it."""

_MISSING = {"params": "no parameter count", "runtime": "no runtime measured", "psnr": "no PSNR measured"}


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
    Shown, never ranked: ``macs`` (multiply-accumulates for a 1×3×256×256 input, the efficient-SR
    tables' "FLOPs"), ``peak_memory_bytes`` and the ``device`` they were measured on, from a code
    re-run; ``uses_gpu_self_reported``, the readme's CPU/GPU flag.
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

    def __post_init__(self) -> None:
        if not self.runtime > 0:
            raise ValueError(f"the baseline runtime must be positive seconds, got {self.runtime!r}")


@dataclass(frozen=True)
class Tolerances:
    """How much worse than the baseline a figure may be and still count as "no worse".

    ``psnr_db``: dB below the baseline; ``runtime_ratio``: the largest runtime / baseline runtime;
    ``params``: parameters above the baseline. Zero slack is (0.0, 1.0, 0).
    """

    psnr_db: float = 0.0
    runtime_ratio: float = 1.0
    params: int = 0
    __pydantic_config__ = {"extra": "forbid"}  # a misspelt key in the bundle is an error, not a default

    def __post_init__(self) -> None:
        if self.psnr_db < 0 or self.runtime_ratio < 1 or self.params < 0:
            raise ValueError(f"tolerances must not be stricter than the baseline itself: {self}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Tolerances:
        """Read the bundle's ``tolerances:`` block; absent keys mean no slack."""
        unknown = set(values) - {"psnr_db", "runtime_ratio", "params"}
        if unknown:
            raise ValueError(f"unknown tolerance keys: {sorted(unknown)}")
        return cls(
            psnr_db=float(values.get("psnr_db", 0.0)),
            runtime_ratio=float(values.get("runtime_ratio", 1.0)),
            params=int(values.get("params", 0)),
        )


@dataclass(frozen=True)
class TrackRule:
    """What a track ranks, and the figures that break ties on it, in order.

    This is the bundle's ``tracks:`` entry itself (server/bundle.py validates the YAML into it), so
    a rule the ranking would refuse is refused when the bundle is loaded.
    """

    slug: str
    title: str
    rank_by: Figure
    tie_break: tuple[Figure, ...] = ()
    __pydantic_config__ = {"extra": "forbid"}  # a misspelt key in the bundle is an error, not a default

    def __post_init__(self) -> None:
        if not re.fullmatch(TRACK_SLUG, self.slug):
            raise ValueError(f"track slug {self.slug!r} must match {TRACK_SLUG} (it is part of URLs)")
        order = (self.rank_by, *self.tie_break)
        unknown = [f for f in order if f not in FIGURES]
        if unknown:
            raise ValueError(f"track {self.slug!r}: rank_by and tie_break must be figures of {FIGURES}, not {unknown}")
        repeated = [f for f, n in Counter(order).items() if n > 1]
        if repeated:
            raise ValueError(f"track {self.slug!r}: tie_break repeats {', '.join(map(repr, repeated))}; rank_by and "
                             f"tie_break must be distinct figures")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> TrackRule:
        """Read one entry of the bundle's ``tracks:`` list."""
        return cls(
            slug=values["slug"],
            title=values.get("title", ""),
            rank_by=values["rank_by"],
            tie_break=tuple(values.get("tie_break", ())),
        )


@dataclass(frozen=True)
class RankedRow:
    """A leaderboard row: ``rank`` is None exactly when ``reason`` says which constraint failed."""

    entry: Entry
    rank: int | None
    reason: str | None = None


def select_figures(entry: Entry, source: FigureSource) -> Entry:
    """The entry with the figures a phase ranks: measured ones, or the team's self-reported ones.

    Self-reported runtimes compare as the team's own-machine ratio (runtime / baseline runtime
    on the team's machine) when the team reported both.
    """
    if source == "measured":
        return entry
    if source != "self_reported":
        raise ValueError(f"unknown figure source {source!r}")
    own, base = entry.runtime_self_reported, entry.runtime_baseline_self_reported
    ratio = own / base if _present(own) and _present(base) and base > 0 else None
    return replace(entry, params=entry.params_self_reported, runtime=own, runtime_ratio=ratio)


def baseline_entry(baseline: BaselineFigures, track: str) -> Entry:
    """The baseline's own row; its ``description`` carries the baseline's name."""
    return Entry(
        team=BASELINE_TEAM,
        track=track,
        psnr=baseline.psnr,
        params=baseline.params,
        runtime=baseline.runtime,
        runtime_ratio=1.0,
        params_self_reported=baseline.params,
        runtime_self_reported=baseline.runtime,
        runtime_baseline_self_reported=baseline.runtime,
        gpu=baseline.gpu,
        extra_data=baseline.extra_data,
        description=baseline.name,
        is_baseline=True,
    )


def broken_constraints(entry: Entry, track: TrackRule, baseline: BaselineFigures, tolerances: Tolerances) -> list[str]:
    """Why ``entry`` cannot be ranked on ``track``, one reason per missing figure or broken bound.

    Runtime compares the same-device ratio where the entry has one, else runtime over the
    phase's baseline runtime. Comparisons allow 1e-9 of float slack, so a figure exactly at the
    tolerance (0.143 s against 0.130 s at ratio 1.1) counts as within it.
    """
    reasons = [entry.held] if entry.held else []
    has_ratio = _present(entry.runtime_ratio)
    for figure in FIGURES:
        needed = figure != "runtime" or not has_ratio or track.rank_by == "runtime"
        if entry.is_baseline and figure == "psnr" and track.rank_by != "psnr":
            needed = False  # its own PSNR bounds nothing when it is unknown
        if needed and not _present(getattr(entry, figure)):
            reasons.append(_baseline_psnr_missing(baseline) if entry.is_baseline and figure == "psnr"
                           else _MISSING[figure])
    if _present(entry.params) and not _at_most(entry.params - baseline.params, tolerances.params):
        reasons.append(
            f"{entry.params:,} parameters exceed the baseline's {baseline.params:,} "
            f"by {entry.params - baseline.params:,} ({tolerances.params:,} tolerated)"
        )
    if has_ratio and not _at_most(entry.runtime_ratio, tolerances.runtime_ratio):
        reasons.append(
            f"runtime is {entry.runtime_ratio:.2f}× the baseline's on the same device "
            f"({tolerances.runtime_ratio:g}× tolerated)"
        )
    elif not has_ratio and _present(entry.runtime):
        ratio = entry.runtime / baseline.runtime
        if not _at_most(ratio, tolerances.runtime_ratio):
            reasons.append(
                f"runtime {entry.runtime:.3f} s is {ratio:.2f}× the baseline's {baseline.runtime:.3f} s "
                f"({tolerances.runtime_ratio:g}× tolerated)"
            )
    if _present(entry.psnr) and _present(baseline.psnr) and not _at_most(baseline.psnr - entry.psnr,
                                                                         tolerances.psnr_db):
        reasons.append(
            f"PSNR {entry.psnr:.2f} dB is {round(baseline.psnr - entry.psnr, 4):g} dB below the baseline's "
            f"{baseline.psnr:.2f} dB ({tolerances.psnr_db:g} dB tolerated)"
        )
    return reasons


def _baseline_psnr_missing(baseline: BaselineFigures) -> str:
    return "PSNR not measured on this phase's images" + (f": {baseline.psnr_note}" if baseline.psnr_note else "")


def rank_track(
    entries: Iterable[Entry], track: TrackRule, baseline: BaselineFigures, tolerances: Tolerances
) -> list[RankedRow]:
    """Rank one track: ranked rows in rank order (1, 2, …), then unranked rows.

    Only entries whose ``track`` is ``track.slug`` take part, so one list serves every track of
    a phase; the baseline row is added here from ``baseline``. Ties on the ranked figure are broken
    by ``track.tie_break`` in order, then the baseline ahead of an entry that merely equals it,
    then the earlier submission, then the team name — so ranks are always distinct. Unranked rows
    follow in the same order, as in the report's Tables 2 and 3.
    """
    pool = [e for e in entries if e.track == track.slug]
    if any(e.is_baseline for e in pool):
        raise ValueError("pass team entries only: the baseline row is built from BaselineFigures")
    repeated = [team for team, n in Counter(e.team for e in pool).items() if n > 1]
    if repeated:
        raise ValueError(f"track {track.slug!r}: more than one entry for {sorted(repeated)}")
    pool.append(baseline_entry(baseline, track.slug))
    pool.sort(key=lambda e: _order_key(e, track))
    judged = [(e, broken_constraints(e, track, baseline, tolerances)) for e in pool]
    ranked = [RankedRow(e, rank, None) for rank, e in enumerate((e for e, why in judged if not why), 1)]
    return ranked + [RankedRow(e, None, "; ".join(why)) for e, why in judged if why]


def _present(value: float | int | None) -> bool:
    """A figure that can be compared: NaN counts as missing, so it cannot sort anywhere by accident."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _at_most(value: float, limit: float) -> bool:
    return value <= limit + 1e-9


def _order_key(entry: Entry, track: TrackRule) -> tuple:
    figures = tuple(_directed(entry, f) for f in (track.rank_by, *track.tie_break))
    submitted = entry.submitted_at.timestamp() if entry.submitted_at else math.inf
    return (*figures, not entry.is_baseline, submitted, entry.team)


def _directed(entry: Entry, figure: Figure) -> tuple[bool, float]:
    """Smaller is better; a missing figure sorts after every present one."""
    value = getattr(entry, figure)
    if not _present(value):
        return (True, 0.0)
    return (False, -value if figure == "psnr" else value)
