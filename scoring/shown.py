"""The figures a board shows for a row and what they are called: one decision for every output.

The web page, the JSON API, the CSV/JSON/Markdown/LaTeX exports and ``srchallenge leaderboard``
all show a row's parameters, runtime and runtime ratio through ``shown_figures`` and head the
columns with ``figure_labels``, so a figure and its label cannot differ between them. The figures
are those the phase ranks (``ranking.select_figures``): measured by the organizers' re-run, or the
team's own in a phase that ranks self-reported figures; the labels say which. The ratio is the one
the runtime constraint compares (``ranking.broken_constraints``): the same-device ratio where the
entry has one, else runtime over the phase's baseline runtime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scoring.ranking import Entry, FigureSource, RankedRow, TrackRule, figure_of

RuntimeUnit = Literal["s", "ms"]

PROVENANCE: dict[str, str] = {"measured": "by organizers", "self_reported": "self-reported"}
"""How a figure was obtained, as the labels say it (the AIM 2019 report: "Running time (s) by organizers")."""


@dataclass(frozen=True)
class ShownFigures:
    params: int | None
    runtime: float | None
    runtime_ratio: float | None
    provenance: str


def figure_source(source: str) -> FigureSource:
    if source not in PROVENANCE:
        raise ValueError(f"unknown figure source {source!r}")
    return source  # type: ignore[return-value]


def shown_figures(entry: Entry, baseline_runtime: float | None, source: FigureSource) -> ShownFigures:
    """``entry`` as ranked (after ``select_figures``); ``baseline_runtime`` the phase's, in seconds."""
    ratio = entry.runtime_ratio
    if ratio is None and entry.runtime is not None and baseline_runtime:
        ratio = entry.runtime / baseline_runtime
    return ShownFigures(params=entry.params, runtime=entry.runtime, runtime_ratio=ratio,
                        provenance=PROVENANCE[figure_source(source)])


def baseline_runtime_of(rows: Sequence[RankedRow]) -> float | None:
    """The baseline row's runtime: ``rank_track`` always adds that row."""
    return next((row.entry.runtime for row in rows if row.entry.is_baseline), None)


def figure_labels(source: FigureSource, unit: RuntimeUnit = "s") -> dict[str, str]:
    """Column headings of the shown figures, saying where they come from and the runtime's unit."""
    provenance = PROVENANCE[figure_source(source)]
    params = "Number of parameters" if source == "measured" else f"Number of parameters ({provenance})"
    return {"params": params, "runtime": f"Running time ({runtime_unit(unit)}) {provenance}",
            "runtime_ratio": f"Running time / baseline ({provenance})"}


def runtime_unit(unit: str) -> RuntimeUnit:
    if unit not in ("s", "ms"):
        raise ValueError(f"unknown runtime unit {unit!r}")
    return unit  # type: ignore[return-value]


def runtime_text(seconds: float | None, unit: RuntimeUnit, missing: str) -> str:
    """A runtime as the board prints it: seconds to 3 decimals (AIM 2019's tables) or milliseconds to 2 (NTIRE's)."""
    if seconds is None:
        return missing
    return f"{seconds * 1000:.2f}" if runtime_unit(unit) == "ms" else f"{seconds:.3f}"


def shows_team_runtime_apart(source: FigureSource) -> bool:
    """Whether the team's own runtime gets a column of its own: not where the phase ranks
    self-reported figures, whose ranked runtime is that one (a second column would repeat it)."""
    return figure_source(source) == "measured"


def ranking_notice(kind: str, source: FigureSource) -> str | None:
    """What a team must know at upload: a results zip cannot be ranked where the phase ranks figures
    the organizers measure by re-running code (it is scored for PSNR and stays unranked)."""
    if kind != "results" or figure_source(source) != "measured":
        return None
    return ("This phase ranks parameters and runtime measured by re-running your code: a results zip is "
            "scored for PSNR but stays unranked. Submit your code (model.py and weights) to be ranked.")


_FIGURE_TITLES = {"params": "Params", "runtime": "Runtime", "psnr": "PSNR", "macs": "FLOPs", "activations": "Acts",
                  "memory": "Memory"}


def rule_columns(track: TrackRule) -> dict[str, str]:
    """The columns a track's rule adds to the board, key → heading: the figure it ranks where the
    AIM 2019 layout has no column for it (a ``gate`` on MACs, activations or memory); a rank sum's
    ranks and their sum; a weighted score's Score_X and Score_Final. Every output shows them."""
    if track.kind == "rank_sum":
        return {**{f"rank_{f}": f"{_FIGURE_TITLES[f]} rank" for f in track.figures}, "score": "Rank sum"}
    if track.kind == "weighted_score":
        parts = {f"score_{f}": f"Score_{_FIGURE_TITLES[f]}" for f in track.weights}
        return parts if len(parts) == 1 else {**parts, "score": "Score_Final"}
    if track.rank_by in ("macs", "activations", "memory"):
        return {track.rank_by: {"macs": "FLOPs (MACs)", "activations": "Activations",
                                "memory": "Peak memory (bytes)"}[track.rank_by]}
    return {}


def rule_values(row: RankedRow, track: TrackRule) -> dict[str, float | int | None]:
    """The values of ``rule_columns`` for one row (None where not computed)."""
    columns = rule_columns(track)
    score = row.score
    values: dict[str, float | int | None] = {}
    for key in columns:
        if key == "score":
            values[key] = score.total if score else None
        elif key.startswith(("rank_", "score_")):
            figure = key.split("_", 1)[1]
            values[key] = score.parts.get(figure) if score else None  # type: ignore[call-overload]
        else:
            values[key] = figure_of(row.entry, key)  # type: ignore[arg-type]
    return values


def ranked_column(track: TrackRule) -> str | None:
    """Where a report-layout table marks the rank: the last rule column, or None (the ranked figure's own)."""
    columns = list(rule_columns(track))
    return columns[-1] if columns else None
