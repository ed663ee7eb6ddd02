"""Per-track eligibility and ranking: a pure function of stored figures.

A track's rule has a kind (``RULE_KINDS``, docs/ranking.md has one example of each):

- ``bounded`` — the AIM 2019 rule (report §3): the track ranks one figure, and "solutions with
  worse fidelity (PSNR), inference time, or number of parameters than the MSRResNet baseline are
  not ranked" — on every track, the ranked figure included (Table 2 leaves neptuneai unranked for
  its runtime alone). "Worse" allows a tolerance per figure, set in the competition bundle;
  docs/ranking.md derives the values from the report's Tables 1–3.
- ``gate`` — a gate, then one figure ranked (NTIRE 2022 main track, AIM 2020): the gate is the
  phase's fixed PSNR threshold and the figures the track names in ``bounded``.
- ``rank_sum`` — the gate, then the sum of the entry's ranks on each of ``figures`` (NTIRE
  2022/2023 sub-tracks); ``scores.rank_sums``.
- ``weighted_score`` — the gate, then Σ wᵢ·exp(2·Xᵢ / Xᵢ of the baseline) over ``weights``
  (NTIRE 2024+; a one-figure weight is a sub-track's Score_X); ``scores.weighted_scores``.

Every kind applies the phase's PSNR threshold when it has one. The baseline is a row of its own
and takes a rank like any entry unless the competition says it does not. A missing figure makes
an entry unranked with a reason; it never sorts to the top.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

# Entry, BaselineFigures and the figures live in scoring/figures.py; they are the ranking's vocabulary,
# imported from here by its callers.
from scoring.figures import (ENTRY_FIELD, FIGURES, BaselineFigures, Entry, Figure, FigureSource,  # noqa: F401
                             directed, figure_of, present)
from scoring.scores import Score, rank_sums, weighted_score


RuleKind = Literal["bounded", "gate", "rank_sum", "weighted_score"]

RULE_KINDS: tuple[RuleKind, ...] = ("bounded", "gate", "rank_sum", "weighted_score")

BOUNDED_BY_AIM2019: tuple[Figure, ...] = ("params", "runtime", "psnr")
"""What the ``bounded`` kind holds every entry to: no worse than the baseline on each."""

TRACK_SLUG = r"[a-z0-9][a-z0-9-]{0,31}"

BASELINE_TEAM = "Baseline"
"""The baseline row's team name, as the report's tables print it."""

_MISSING = {"params": "no parameter count", "runtime": "no runtime measured", "psnr": "no PSNR measured",
            "macs": "no FLOPs (MACs) counted", "activations": "no activations counted",
            "memory": "no peak memory measured"}


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
    """How a track ranks (its ``kind``, see the module docstring) and what it holds entries to.

    ``rank_by`` and ``tie_break`` serve ``bounded`` and ``gate``; ``figures`` (two or more) serve
    ``rank_sum``; ``weights`` (figure → weight) serve ``weighted_score``. ``bounded`` names the
    figures an entry must be no worse than the baseline on (``gate``, ``rank_sum``,
    ``weighted_score``; ``bounded`` always holds to ``BOUNDED_BY_AIM2019``).
    This is the bundle's ``tracks:`` entry itself (server/bundle.py validates the YAML into it), so
    a rule the ranking would refuse is refused when the bundle is loaded.
    """

    slug: str
    title: str
    rank_by: Figure | None = None
    tie_break: tuple[Figure, ...] = ()
    kind: RuleKind = "bounded"
    bounded: tuple[Figure, ...] = ()
    figures: tuple[Figure, ...] = ()
    weights: dict[Figure, float] = field(default_factory=dict)
    __pydantic_config__ = {"extra": "forbid"}  # a misspelt key in the bundle is an error, not a default

    def __post_init__(self) -> None:
        if not re.fullmatch(TRACK_SLUG, self.slug):
            raise ValueError(f"track slug {self.slug!r} must match {TRACK_SLUG} (it is part of URLs)")
        if self.kind not in RULE_KINDS:
            raise ValueError(f"track {self.slug!r}: kind must be one of {RULE_KINDS}, not {self.kind!r}")
        named = [*([self.rank_by] if self.rank_by else []), *self.tie_break, *self.bounded, *self.figures,
                 *self.weights]
        unknown = [f for f in named if f not in FIGURES]
        if unknown:
            raise ValueError(f"track {self.slug!r}: rank_by, tie_break, bounded, figures and weights must name "
                             f"figures of {FIGURES}, not {unknown}")
        wrong = [key for key, given in self._keys_of_other_kinds().items() if given]
        if wrong:
            raise ValueError(f"track {self.slug!r}: {', '.join(wrong)} do(es) not apply to kind {self.kind!r}")
        getattr(self, f"_check_{self.kind}")()
        repeated = [f for group in ((self.rank_by, *self.tie_break), self.bounded, self.figures)
                    for f, n in Counter(x for x in group if x).items() if n > 1]
        if repeated:
            raise ValueError(f"track {self.slug!r}: {', '.join(map(repr, repeated))} named twice; rank_by and "
                             f"tie_break must be distinct figures, as must bounded and figures")

    def _keys_of_other_kinds(self) -> dict[str, bool]:
        ordered = self.kind in ("bounded", "gate")
        return {"rank_by": not ordered and self.rank_by is not None, "tie_break": not ordered and bool(self.tie_break),
                "bounded": self.kind == "bounded" and bool(self.bounded),
                "figures": self.kind != "rank_sum" and bool(self.figures),
                "weights": self.kind != "weighted_score" and bool(self.weights)}

    def _check_bounded(self) -> None:
        self._check_gate()

    def _check_gate(self) -> None:
        if self.rank_by is None:
            raise ValueError(f"track {self.slug!r}: kind {self.kind!r} needs rank_by")

    def _check_rank_sum(self) -> None:
        if len(self.figures) < 2:
            raise ValueError(f"track {self.slug!r}: kind 'rank_sum' needs two or more figures")

    def _check_weighted_score(self) -> None:
        if not self.weights or any(not (isinstance(w, (int, float)) and 0 < w < math.inf)
                                   for w in self.weights.values()):
            raise ValueError(f"track {self.slug!r}: kind 'weighted_score' needs weights, each a positive number")
        if "psnr" in self.weights:
            raise ValueError(f"track {self.slug!r}: PSNR cannot be weighed (exp(2·X/X_baseline) is for figures "
                             "where smaller is better); gate it with the phase's psnr_threshold")

    @property
    def bounds(self) -> tuple[Figure, ...]:
        """The figures an entry must be no worse than the baseline on."""
        return BOUNDED_BY_AIM2019 if self.kind == "bounded" else self.bounded

    @property
    def ranked_figures(self) -> tuple[Figure, ...]:
        """The figures the order is computed from (a missing one leaves the entry unranked)."""
        if self.kind == "rank_sum":
            return self.figures
        if self.kind == "weighted_score":
            return tuple(self.weights)
        return (self.rank_by,)  # type: ignore[return-value]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> TrackRule:
        """Read one entry of the bundle's ``tracks:`` list (or a stored track's rule)."""
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown track keys: {sorted(unknown)}")
        return cls(
            slug=values["slug"],
            title=values.get("title", ""),
            rank_by=values.get("rank_by"),
            tie_break=tuple(values.get("tie_break", ())),
            kind=values.get("kind", "bounded"),
            bounded=tuple(values.get("bounded", ())),
            figures=tuple(values.get("figures", ())),
            weights=dict(values.get("weights", {})),
        )


@dataclass(frozen=True)
class RankedRow:
    """A leaderboard row: ``rank`` is None exactly when ``reason`` says which constraint failed.
    ``score`` is the rank sum or weighted score the track orders by (None for ``bounded`` and
    ``gate`` tracks, and where it cannot be computed)."""

    entry: Entry
    rank: int | None
    reason: str | None = None
    score: Score | None = None


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
    ratio = own / base if present(own) and present(base) and base > 0 else None
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
        macs=baseline.macs,
        activations=baseline.activations,
        peak_memory_bytes=baseline.peak_memory_bytes,
    )


def broken_constraints(entry: Entry, track: TrackRule, baseline: BaselineFigures, tolerances: Tolerances,
                       psnr_threshold: float | None = None) -> list[str]:
    """Why ``entry`` cannot be ranked on ``track``, one reason per missing figure or broken bound.

    Runtime compares the same-device ratio where the entry has one, else runtime over the
    phase's baseline runtime; a ratio also suffices for a weighted score. ``psnr_threshold`` is the
    phase's fixed fidelity gate, apart from the baseline's own PSNR. Comparisons allow 1e-9 of
    float slack, so a figure exactly at the tolerance (0.143 s against 0.130 s at ratio 1.1) counts
    as within it.
    """
    reasons = [entry.held] if entry.held else []
    has_ratio = present(entry.runtime_ratio)
    ranked = track.ranked_figures
    needed_figures = {*ranked, *track.bounds, *(("psnr",) if psnr_threshold is not None else ())}
    for figure in FIGURES:
        if figure not in needed_figures:
            continue
        needed = figure != "runtime" or not has_ratio or ("runtime" in ranked and track.kind != "weighted_score")
        if entry.is_baseline and figure == "psnr" and "psnr" not in ranked:
            needed = False  # its own PSNR bounds nothing when it is unknown
        if needed and not present(figure_of(entry, figure)):
            reasons.append(_baseline_psnr_missing(baseline) if entry.is_baseline and figure == "psnr"
                           else _MISSING[figure])
    for figure in track.bounds:
        reasons.extend(_bound_broken(entry, figure, baseline, tolerances))
    if psnr_threshold is not None and present(entry.psnr) and not _at_most(psnr_threshold, entry.psnr):
        reasons.append(f"PSNR {entry.psnr:.2f} dB is below the threshold of {psnr_threshold:.2f} dB")
    return reasons


def _bound_broken(entry: Entry, figure: Figure, baseline: BaselineFigures, tolerances: Tolerances) -> list[str]:
    """Why ``entry`` is worse than the baseline on ``figure`` (none where it is not, or lacks it)."""
    if figure == "runtime":
        if present(entry.runtime_ratio):
            if _at_most(entry.runtime_ratio, tolerances.runtime_ratio):
                return []
            return [f"runtime is {entry.runtime_ratio:.2f}× the baseline's on the same device "
                    f"({tolerances.runtime_ratio:g}× tolerated)"]
        if not present(entry.runtime):
            return []
        ratio = entry.runtime / baseline.runtime
        if _at_most(ratio, tolerances.runtime_ratio):
            return []
        return [f"runtime {entry.runtime:.3f} s is {ratio:.2f}× the baseline's {baseline.runtime:.3f} s "
                f"({tolerances.runtime_ratio:g}× tolerated)"]
    value, base = figure_of(entry, figure), figure_of(baseline, figure)
    if not present(value) or (figure == "psnr" and not present(base)):
        return []  # a missing figure has its reason; an unmeasured baseline PSNR bounds nothing
    if not present(base):
        return [f"the baseline has no {_NAMES[figure]} to compare with"]
    if figure == "psnr":
        if _at_most(base - value, tolerances.psnr_db):
            return []
        return [f"PSNR {value:.2f} dB is {round(base - value, 4):g} dB below the baseline's "
                f"{base:.2f} dB ({tolerances.psnr_db:g} dB tolerated)"]
    slack = tolerances.params if figure == "params" else 0
    if _at_most(value - base, slack):
        return []
    if figure == "params":
        return [f"{value:,} parameters exceed the baseline's {base:,} by {value - base:,} ({slack:,} tolerated)"]
    return [f"{_NAMES[figure]} {value:,} exceed the baseline's {base:,}"]


_NAMES = {"macs": "FLOPs (MACs)", "activations": "activations", "memory": "peak memory (bytes)", "psnr": "PSNR"}


def _baseline_psnr_missing(baseline: BaselineFigures) -> str:
    return "PSNR not measured on this phase's images" + (f": {baseline.psnr_note}" if baseline.psnr_note else "")


NOT_RANKED_BASELINE = "the reference: this challenge does not rank its baseline"


def rank_track(
    entries: Iterable[Entry], track: TrackRule, baseline: BaselineFigures, tolerances: Tolerances, *,
    psnr_threshold: float | None = None, baseline_ranked: bool = True,
) -> list[RankedRow]:
    """Rank one track: ranked rows in rank order (1, 2, …), then unranked rows.

    Only entries whose ``track`` is ``track.slug`` take part, so one list serves every track of
    a phase; the baseline row is added here from ``baseline`` (unranked, with its figures shown,
    where ``baseline_ranked`` is false). Ties on what the track orders by are broken by
    ``track.tie_break`` in order (a rank sum: by the ranks on its figures in order), then the
    baseline ahead of an entry that merely equals it, then the earlier submission, then the team
    name — so ranks are always distinct. Unranked rows follow in the same order, as in the AIM 2019
    report's Tables 2 and 3.
    """
    pool = [e for e in entries if e.track == track.slug]
    if any(e.is_baseline for e in pool):
        raise ValueError("pass team entries only: the baseline row is built from BaselineFigures")
    repeated = [team for team, n in Counter(e.team for e in pool).items() if n > 1]
    if repeated:
        raise ValueError(f"track {track.slug!r}: more than one entry for {sorted(repeated)}")
    pool.append(baseline_entry(baseline, track.slug))
    judged = {id(e): broken_constraints(e, track, baseline, tolerances, psnr_threshold) for e in pool}
    if not baseline_ranked:
        judged[id(pool[-1])].append(NOT_RANKED_BASELINE)
    eligible = [e for e in pool if not judged[id(e)]]
    scores: dict[int, Score | None] = {}
    if track.kind == "rank_sum":
        scores.update(rank_sums(eligible, track.figures))
    elif track.kind == "weighted_score":
        scores.update({id(e): weighted_score(e, track.weights, baseline) for e in pool})
    pool.sort(key=lambda e: _order_key(e, track, scores.get(id(e))))
    rows = [(e, judged[id(e)], scores.get(id(e))) for e in pool]
    ranked = [RankedRow(e, rank, None, score)
              for rank, (e, _, score) in enumerate(((e, w, s) for e, w, s in rows if not w), 1)]
    return ranked + [RankedRow(e, None, "; ".join(why), score) for e, why, score in rows if why]


def _at_most(value: float, limit: float) -> bool:
    return value <= limit + 1e-9


def _order_key(entry: Entry, track: TrackRule, score: Score | None) -> tuple:
    if track.kind in ("bounded", "gate"):
        order = tuple(directed(figure_of(entry, f), f) for f in (track.rank_by, *track.tie_break))
    else:
        order = ((score is None, score.total if score else 0.0),
                 *((False, score.parts[f]) if score and track.kind == "rank_sum" else (True, 0.0)
                   for f in track.figures))
    submitted = entry.submitted_at.timestamp() if entry.submitted_at else math.inf
    return (*order, not entry.is_baseline, submitted, entry.team)
