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

from scoring.ranking import Entry, FigureSource, RankedRow

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


def figure_labels(source: FigureSource) -> dict[str, str]:
    """Column headings of the shown figures, saying where they come from."""
    provenance = PROVENANCE[figure_source(source)]
    params = "Number of parameters" if source == "measured" else f"Number of parameters ({provenance})"
    return {"params": params, "runtime": f"Running time (s) {provenance}",
            "runtime_ratio": f"Running time / baseline ({provenance})"}


def ranking_notice(kind: str, source: FigureSource) -> str | None:
    """What a team must know at upload: a results zip cannot be ranked where the phase ranks figures
    the organizers measure by re-running code (it is scored for PSNR and stays unranked)."""
    if kind != "results" or figure_source(source) != "measured":
        return None
    return ("This phase ranks parameters and runtime measured by re-running your code: a results zip is "
            "scored for PSNR but stays unranked. Submit your code (model.py and weights) to be ranked.")
