"""The Pareto plot of a phase as inline SVG: PSNR (y) against runtime / baseline (x), marker area ∝
parameters.

Drawn on the server from leaderboard rows, so the page needs no JavaScript, plotting library or
CDN, and the picture is exactly the figures the table ranks: x is the ratio the runtime constraint
compares (``scoring.shown``), so a code re-run timed on a CPU against the baseline in the same job
is placed by that ratio, not by CPU seconds beside the baseline's GPU seconds. Lines through the
baseline's PSNR and its 1× split the plane into the report's "no worse than the baseline" quadrant
and the rest.
Styling is left to classes (the page's CSS), so the Content-Security-Policy needs no inline style.
"""

import math
from collections.abc import Iterable, Sequence
from html import escape

from scoring.ranking import RankedRow
from scoring.shown import baseline_runtime_of, shown_figures

WIDTH, HEIGHT = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 16, 48
MAX_RADIUS = 20.0
"""Radius of the largest marker in the plot; the others scale so that area ∝ parameters."""
MIN_RADIUS = 2.5
"""Smallest marker drawn, so a 0-parameter entry (a lookup table, a fixed filter) stays visible."""
LABEL_CHAR_WIDTH, LABEL_HEIGHT = 7.0, 13.0
"""A label's box in pixels at the page's 11 px font (a generous average glyph), for moving labels apart."""


def distinct_rows(rows: Iterable[RankedRow]) -> list[RankedRow]:
    """One row per standing submission across a phase's tracks (the baseline once).

    A submission ranked on any track keeps its ranked row, so the plot marks it as ranked.
    """
    kept: dict[str, RankedRow] = {}
    for row in rows:
        key = "baseline" if row.entry.is_baseline else f"{row.entry.team}\0{row.entry.submission_id}"
        if key not in kept or (kept[key].rank is None and row.rank is not None):
            kept[key] = row
    return list(kept.values())


def runtime_ratio(row: RankedRow, baseline_runtime: float | None) -> float | None:
    """The row's x: the ratio every output shows and the runtime constraint compares."""
    return shown_figures(row.entry, baseline_runtime, "measured").runtime_ratio


def plottable(row: RankedRow, baseline_runtime: float | None) -> bool:
    """A row needs PSNR, a runtime ratio and a parameter count to have a place and a size."""
    ratio = runtime_ratio(row, baseline_runtime) if row.entry.runtime is not None else None
    figures = (row.entry.psnr, ratio, row.entry.params)
    return all(v is not None and math.isfinite(v) for v in figures) and row.entry.params >= 0


def pareto_svg(rows: Sequence[RankedRow], title: str = "PSNR against runtime") -> str:
    """An ``<svg>`` element: one ``circle.marker`` per plottable row, largest first so small ones stay on top.

    Rows that are not ``plottable`` are left out; the baseline row draws the two baseline lines.
    Returns "" when no row can be plotted.
    """
    baseline_runtime = baseline_runtime_of(rows)
    points = [row for row in rows if plottable(row, baseline_runtime)]
    if not points:
        return ""
    ratio = {id(row): runtime_ratio(row, baseline_runtime) for row in points}
    inset = MAX_RADIUS  # keeps the largest marker inside the frame
    x_scale = _Scale(0.0, max(ratio.values()), LEFT + inset, WIDTH - RIGHT - inset)
    psnrs = [r.entry.psnr for r in points]
    y_scale = _Scale(min(psnrs), max(psnrs), HEIGHT - BOTTOM - inset, TOP + inset, pad=True)
    largest = max(r.entry.params for r in points) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="pareto" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="pareto-title"><title id="pareto-title">{escape(title)}</title>',
        *_axes(x_scale, y_scale),
        *_baseline_lines(rows, x_scale, y_scale),
    ]
    placed: list[tuple[float, float, float, float]] = []
    for row in sorted(points, key=lambda r: -r.entry.params):
        cx, cy = x_scale(ratio[id(row)]), y_scale(row.entry.psnr)
        radius = max(MIN_RADIUS, MAX_RADIUS * math.sqrt(row.entry.params / largest))
        label_x = round(cx + radius + 3, 2)
        label_y = _free_label_y(label_x, cy + 4, len(row.entry.team) * LABEL_CHAR_WIDTH, placed)
        parts.append(_marker(row, ratio[id(row)], cx, cy, radius, label_x, label_y))
    parts.append("</svg>")
    return "\n".join(parts)


class _Scale:
    """Linear map from figures to pixels; ``pad`` widens the domain so extreme markers are not cut."""

    def __init__(self, lo: float, hi: float, start: float, end: float, pad: bool = False):
        span = hi - lo or max(abs(hi) * 0.05, 1.0)
        margin = span * 0.08
        self.lo, self.hi = (lo - margin if pad else lo), hi + margin
        self.start, self.end = start, end

    def __call__(self, value: float) -> float:
        return round(self.start + (value - self.lo) / (self.hi - self.lo) * (self.end - self.start), 2)

    def ticks(self, count: int = 5) -> list[float]:
        raw = (self.hi - self.lo) / count
        step = min((m * 10 ** math.floor(math.log10(raw)) for m in (1, 2, 5, 10)), key=lambda s: abs(s - raw))
        first = math.ceil(self.lo / step) * step
        return [round(first + i * step, 10) for i in range(int((self.hi - first) / step) + 1)]


def _axes(x: "_Scale", y: "_Scale") -> list[str]:
    left, right, top, bottom = LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM
    parts = [f'<rect class="frame" x="{left}" y="{top}" width="{right - left}" height="{bottom - top}"/>']
    for value in x.ticks():
        px = x(value)
        parts.append(f'<line class="grid" x1="{px}" y1="{top}" x2="{px}" y2="{bottom}"/>'
                     f'<text class="tick" x="{px}" y="{bottom + 16}" text-anchor="middle">{value:g}</text>')
    for value in y.ticks():
        py = y(value)
        parts.append(f'<line class="grid" x1="{left}" y1="{py}" x2="{right}" y2="{py}"/>'
                     f'<text class="tick" x="{left - 6}" y="{py + 4}" text-anchor="end">{value:g}</text>')
    parts.append(f'<text class="axis-label" x="{(left + right) / 2}" y="{HEIGHT - 8}" text-anchor="middle">'
                 "Runtime / baseline (×)</text>")
    parts.append(f'<text class="axis-label" x="14" y="{(top + bottom) / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {(top + bottom) / 2})">PSNR (dB)</text>')
    return parts


def _baseline_lines(rows: Sequence[RankedRow], x: "_Scale", y: "_Scale") -> list[str]:
    baseline = next((r.entry for r in rows if r.entry.is_baseline), None)
    if baseline is None:
        return []
    parts = []
    if baseline.psnr is not None and math.isfinite(baseline.psnr):
        py = y(baseline.psnr)
        parts.append(f'<line class="baseline-line baseline-psnr" x1="{LEFT}" y1="{py}" x2="{WIDTH - RIGHT}" y2="{py}"/>')
    if baseline.runtime is not None and math.isfinite(baseline.runtime):
        px = x(1.0)
        parts.append(f'<line class="baseline-line baseline-runtime" x1="{px}" y1="{TOP}" x2="{px}" '
                     f'y2="{HEIGHT - BOTTOM}"/>')
    return parts


def _free_label_y(x: float, y: float, width: float, placed: list[tuple[float, float, float, float]]) -> float:
    """The baseline y nearest ``y`` (a line step at a time, below first) where a label of this width
    overlaps none already placed; records the chosen box in ``placed``. Clustered entries get a
    stack of labels instead of one unreadable smudge."""
    for step in range(40):
        candidate = round(y + LABEL_HEIGHT * ((step + 1) // 2) * (1 if step % 2 else -1), 2)
        box = (x, candidate - LABEL_HEIGHT, x + width, candidate)
        if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
            break
    placed.append(box)
    return candidate


def _marker(row: RankedRow, ratio: float, cx: float, cy: float, radius: float, label_x: float,
            label_y: float) -> str:
    entry = row.entry
    kind = "baseline" if entry.is_baseline else ("ranked" if row.rank is not None else "unranked")
    name = escape(entry.team)
    tooltip = f"{name}: {entry.psnr:.2f} dB, {ratio:.2f}× the baseline's runtime ({entry.runtime:.3f} s), " \
              f"{entry.params:,} parameters"
    return (f'<g class="point {kind}"><circle class="marker" cx="{cx}" cy="{cy}" r="{radius:.3f}" '
            f'data-params="{entry.params}"><title>{tooltip}</title></circle>'
            f'<text class="label" x="{label_x}" y="{label_y}">{name}</text></g>')
