"""The scores of the ``rank_sum`` and ``weighted_score`` rule kinds (scoring/ranking.py).

``rank_sums``: NTIRE 2022/2023's sub-tracks sum each entry's ranks on several figures among the
entries that pass the gate; equal figures share the better rank (1, 2, 2, 4).
``weighted_scores``: NTIRE 2024+'s Score_X = exp(2·X / X_baseline) for each weighed figure and
Score_Final = Σ wᵢ·Score_Xᵢ; lower is better, and the baseline itself scores e² ≈ 7.3891 on every
figure. Runtime's X / X_baseline is the same-device ratio where the entry has one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from scoring.figures import BaselineFigures, Entry, Figure, directed, figure_of, present


@dataclass(frozen=True)
class Score:
    """An entry's score on a track (lower is better) and its parts, by figure: a rank (rank sum)
    or Score_X (weighted score)."""

    total: float | int
    parts: dict[Figure, float | int] = field(default_factory=dict)


def rank_sums(entries: Sequence[Entry], figures: Sequence[Figure]) -> dict[int, Score]:
    """By ``id(entry)``: the sum of its ranks on ``figures`` among ``entries`` (every one has them)."""
    ranks: dict[int, dict[Figure, float | int]] = {id(e): {} for e in entries}
    for figure in figures:
        values = sorted(directed(figure_of(e, figure), figure) for e in entries)
        for e in entries:
            ranks[id(e)][figure] = values.index(directed(figure_of(e, figure), figure)) + 1
    return {key: Score(sum(parts.values()), parts) for key, parts in ranks.items()}


def to_baseline(entry: Entry, figure: Figure, baseline: BaselineFigures) -> float | None:
    """X / X_baseline: runtime's is the same-device ratio where the entry has one."""
    if figure == "runtime" and present(entry.runtime_ratio):
        return entry.runtime_ratio
    value, base = figure_of(entry, figure), figure_of(baseline, figure)
    if not present(value) or not present(base) or not base > 0:
        return None
    return value / base


def weighted_score(entry: Entry, weights: dict[Figure, float], baseline: BaselineFigures) -> Score | None:
    """Σ wᵢ·exp(2·Xᵢ / Xᵢ_baseline), or None where a figure (the entry's or the baseline's) is missing."""
    parts: dict[Figure, float | int] = {}
    for figure in weights:
        ratio = to_baseline(entry, figure, baseline)
        if ratio is None:
            return None
        parts[figure] = math.exp(2 * ratio)
    return Score(sum(weights[f] * parts[f] for f in weights), parts)
