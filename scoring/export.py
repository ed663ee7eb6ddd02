"""Render a ranked track for people and for other programs, and read entries back from CSV.

``markdown`` and ``latex`` follow the layout of the AIM 2019 report's Tables 1–3: no rank
column, the track's figure carries its rank — ``893,936(1)`` — or ``(−)`` when unranked, and
below the table a note per row that is unranked or stale says why. ``table`` is the same layout
as aligned text plus those remarks as a last column. ``csv`` and ``json`` carry every Entry field,
rank, reason, ``stale``, the rule's ``score`` and ``score_parts``, and ``runtime_to_baseline``, the
ratio the runtime constraint compares (scoring/shown.py decides it and every heading that names a
figure's source). ``stale`` maps a
submission id to why its figures await a rescore (the server knows the hidden set's versions);
``read_entries_csv`` reads that CSV (and the report's
data in tests/data, which has a subset of its columns) back into entries.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from scoring.factsheet import yes_no
from scoring.ranking import Entry, FigureSource, RankedRow, TrackRule
from scoring.shown import (RuntimeUnit, baseline_runtime_of, figure_labels, ranked_column, rule_columns, rule_values,
                           runtime_text, shown_figures, shows_team_runtime_apart)

ExportFormat = Literal["table", "csv", "json", "markdown", "latex"]

UNRANKED = "−"
"""The mark the report prints for an unranked figure (U+2212 MINUS SIGN, as in "852,874(−)")."""

MISSING = "n/a"

_ENTRY_FIELDS = tuple(f.name for f in fields(Entry))
CSV_COLUMNS = ("rank", *_ENTRY_FIELDS, "runtime_to_baseline", "score", "score_parts", "stale", "reason")
_DERIVED_COLUMNS = {"rank", "runtime_to_baseline", "score", "score_parts", "stale", "reason"}
"""Written for readers, ignored when read back: the ranking derives them again."""
_FLOAT_FIELDS = {"psnr", "runtime", "runtime_ratio", "runtime_self_reported", "runtime_baseline_self_reported"}
_INT_FIELDS = {"params", "params_self_reported", "stored_numbers", "literals", "macs", "activations",
               "peak_memory_bytes"}
_BOOL_FIELDS = {"extra_data", "is_baseline", "uses_gpu_self_reported"}
_REPORT_FIGURE_COLUMN = {"psnr": 1, "params": 2, "runtime": 3}
_TEXT_TITLES = {"Team", "GPU", "Extra data", "Reason"}  # left-aligned; figures right-aligned


Stale = Mapping[str, str]
"""Submission id → why the row's figures await a rescore (scored on an older hidden set)."""
NO_STALE: Stale = MappingProxyType({})


def render_track(rows: Sequence[RankedRow], track: TrackRule, fmt: ExportFormat,
                 source: FigureSource = "measured", unit: RuntimeUnit = "s", stale: Stale | None = None) -> str:
    """Render ``rank_track``'s rows in one of the export formats; ``source``: the figures the phase
    ranks; ``unit``: the bundle's runtime unit for people (CSV and JSON keep seconds); ``stale``: see
    the module's docstring."""
    renderers: dict[str, Callable[[Sequence[RankedRow], TrackRule, FigureSource, RuntimeUnit, Stale], str]] = {
        "table": to_table,
        "csv": lambda rows, _track, _source, _unit, stale: to_csv(rows, stale),  # a row's score carries its parts
        "json": to_json,
        "markdown": to_markdown,
        "latex": to_latex,
    }
    if fmt not in renderers:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {sorted(renderers)}")
    return renderers[fmt](rows, track, source, unit, NO_STALE if stale is None else stale)


def _stale_of(row: RankedRow, stale: Stale) -> str | None:
    return stale.get(row.entry.submission_id or "")


def _remarks(row: RankedRow, stale: Stale) -> str:
    """Why the row is unranked and/or why its figures await a rescore ("" for neither)."""
    return "; ".join(text for text in (row.reason, _stale_of(row, stale)) if text)


def to_table(rows: Sequence[RankedRow], track: TrackRule, source: FigureSource = "measured",
             unit: RuntimeUnit = "s", stale: Stale = NO_STALE) -> str:
    """Aligned plain text (for a terminal or a log): the report's columns, then any remarks."""
    header = _report_header(rows, source, track, unit)
    body = [_report_cells(row, track, source, unit) for row in rows]
    if any(_remarks(row, stale) for row in rows):
        header.append("Reason")
        body = [cells + [_remarks(row, stale)] for cells, row in zip(body, rows)]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) if title in _TEXT_TITLES else cell.rjust(w)
                  for title, cell, w in zip(header, line, widths))
        for line in [header, *body]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def to_csv(rows: Sequence[RankedRow], stale: Stale = NO_STALE) -> str:
    """One line per row, every Entry field plus rank, stale and reason; ``read_entries_csv`` reads it back."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    baseline_runtime = baseline_runtime_of(rows)
    for row in rows:
        values = [getattr(row.entry, name) for name in _ENTRY_FIELDS]
        ratio = shown_figures(row.entry, baseline_runtime, "measured").runtime_ratio
        score, parts = (row.score.total, json.dumps(row.score.parts)) if row.score else (None, None)
        writer.writerow([_csv_value(v) for v in (row.rank, *values, ratio, score, parts, _stale_of(row, stale),
                                                 row.reason)])
    return out.getvalue()


def to_json(rows: Sequence[RankedRow], track: TrackRule, source: FigureSource = "measured",
            unit: RuntimeUnit = "s", stale: Stale = NO_STALE) -> str:
    """The track's rule, the headings of its figures (as people see them, ``runtime_unit``), and its
    rows; runtimes in seconds, datetimes as ISO 8601, missing figures as null."""
    baseline_runtime = baseline_runtime_of(rows)
    document = {
        "track": track.slug,
        "title": track.title,
        "rank_by": track.rank_by,
        "tie_break": list(track.tie_break),
        "kind": track.kind,
        "bounded": list(track.bounds),
        "figures": list(track.figures),
        "weights": track.weights,
        "labels": figure_labels(source, unit),
        "runtime_unit": unit,
        "rule_columns": rule_columns(track),
        "rows": [
            {
                "rank": row.rank,
                "reason": row.reason,
                **{name: _json_value(getattr(row.entry, name)) for name in _ENTRY_FIELDS},
                "runtime_to_baseline": shown_figures(row.entry, baseline_runtime, source).runtime_ratio,
                "score": row.score.total if row.score else None,
                "score_parts": dict(row.score.parts) if row.score else None,
                "stale": _stale_of(row, stale),
            }
            for row in rows
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def to_markdown(rows: Sequence[RankedRow], track: TrackRule, source: FigureSource = "measured",
                unit: RuntimeUnit = "s", stale: Stale = NO_STALE) -> str:
    """A GitHub-flavoured Markdown table in the report's layout, then a list of the remarks (why a
    row is unranked or stale). Team-written text is HTML-escaped (Markdown passes raw HTML through:
    a team name could carry a ``<script>``)."""
    header = _report_header(rows, source, track, unit)
    align = [":---" if title in _TEXT_TITLES else "---:" for title in header]
    lines = [header, align, *(_report_cells(row, track, source, unit) for row in rows)]
    table = "\n".join("| " + " | ".join(_markdown_cell(c) for c in line) + " |" for line in lines) + "\n"
    notes = [f"- {_markdown_cell(team)}: {_markdown_cell(remark)}" for team, remark in _notes(rows, stale)]
    return table + ("\n" + "\n".join(notes) + "\n" if notes else "")


def _notes(rows: Sequence[RankedRow], stale: Stale) -> list[tuple[str, str]]:
    return [(row.entry.team, _remarks(row, stale)) for row in rows if _remarks(row, stale)]


def _markdown_cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|")


def to_latex(rows: Sequence[RankedRow], track: TrackRule, source: FigureSource = "measured",
             unit: RuntimeUnit = "s", stale: Stale = NO_STALE) -> str:
    """A ``table`` environment in the report's layout, the remarks in small type below the
    tabular; needs a Unicode-aware engine for "−"."""
    header = _report_header(rows, source, track, unit)
    body = [" & ".join(_latex_escape(c) for c in _report_cells(row, track, source, unit)) + r" \\" for row in rows]
    notes = [rf"{_latex_escape(team)}: {_latex_escape(remark)}\\" for team, remark in _notes(rows, stale)]
    if notes:
        notes = [r"\par\smallskip\footnotesize", *notes]
    return "\n".join(
        [
            r"\begin{table}",
            r"\centering",
            rf"\caption{{{_latex_escape(track.title or track.slug)}}}",
            r"\begin{tabular}{" + "".join("l" if title in _TEXT_TITLES else "r" for title in header) + "}",
            r"\hline",
            " & ".join(_latex_escape(c) for c in header) + r" \\",
            r"\hline",
            *body,
            r"\hline",
            r"\end{tabular}",
            *notes,
            r"\end{table}",
        ]
    ) + "\n"


def read_entries_csv(text: str) -> list[Entry]:
    """Entries from CSV with a header naming Entry fields; ``rank`` and ``reason`` are ignored.

    Blank cells are missing figures. ``team`` and ``track`` are required; other columns optional.
    """
    reader = csv.DictReader(io.StringIO(text))
    columns = set(reader.fieldnames or ())
    unknown = columns - set(CSV_COLUMNS)
    if unknown or not {"team", "track"} <= columns:
        raise ValueError(f"CSV needs team and track columns and no others than {CSV_COLUMNS}; got {sorted(columns)}")
    entries = []
    for line, record in enumerate(reader, start=2):
        values: dict[str, Any] = {}
        for name in columns - _DERIVED_COLUMNS:
            try:
                values[name] = _parse_cell(name, record[name] or "")
            except ValueError as err:
                raise ValueError(f"line {line}, column {name}: {err}") from None
        values.setdefault("psnr", None)
        values.setdefault("params", None)
        values.setdefault("runtime", None)
        entries.append(Entry(**values))
    return entries


def _report_header(rows: Sequence[RankedRow], source: FigureSource, track: TrackRule, unit: RuntimeUnit) -> list[str]:
    """The report's column titles, then the track rule's (``rule_columns``); the baseline's name comes
    from its row, as the report prints it. The ranked figures' titles say where they come from; the
    authors' own runtime has a column only where it is not the ranked one (``shows_team_runtime_apart``)."""
    baseline = next((row.entry.description for row in rows if row.entry.is_baseline), "") or "the baseline"
    labels = figure_labels(source, unit)
    return [
        "Team",
        "PSNR",
        labels["params"],
        labels["runtime"],
        *([f"Running time ({unit}) by authors"] if shows_team_runtime_apart(source) else []),
        f"Running time ({unit}) of {baseline}",
        "GPU",
        "Extra data",
        *rule_columns(track).values(),
    ]


def _report_cells(row: RankedRow, track: TrackRule, source: FigureSource, unit: RuntimeUnit) -> list[str]:
    entry = row.entry
    cells = [
        entry.team,
        _figure(entry.psnr, "{:.2f}"),
        _figure(entry.params, "{:,}"),
        runtime_text(entry.runtime, unit, MISSING),
        *([runtime_text(entry.runtime_self_reported, unit, MISSING)] if shows_team_runtime_apart(source) else []),
        runtime_text(entry.runtime_baseline_self_reported, unit, MISSING),
        entry.gpu or MISSING,
        MISSING if entry.extra_data is None else ("Yes" if entry.extra_data else "No"),
    ]
    cells += [_figure(value, "{:,}" if isinstance(value, int) else "{:.4f}")
              for value in rule_values(row, track).values()]
    column = len(cells) - 1 if ranked_column(track) else _REPORT_FIGURE_COLUMN[track.rank_by]  # type: ignore[index]
    cells[column] += f"({row.rank})" if row.rank is not None else f"({UNRANKED})"
    return cells


def _figure(value: float | int | None, pattern: str) -> str:
    return MISSING if value is None else pattern.format(value)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value  # a spreadsheet would run it as a formula (OWASP "CSV injection")
    return str(value)


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _parse_cell(name: str, cell: str) -> Any:
    if cell.startswith("'") and cell[1:].startswith(_FORMULA_STARTS):
        cell = cell[1:]  # written by _csv_value
    cell = cell.strip()
    if name in ("team", "track"):
        if not cell:
            raise ValueError("must not be blank")
        return cell
    if name == "description":
        return cell
    if not cell:
        return False if name == "is_baseline" else None
    if name in _FLOAT_FIELDS:
        return float(cell)
    if name in _INT_FIELDS:
        return int(cell)
    if name in _BOOL_FIELDS:
        flag = yes_no(cell)
        if flag is None:
            raise ValueError(f"expected yes or no, got {cell!r}")
        return flag
    if name == "submitted_at":
        return datetime.fromisoformat(cell)
    return cell


_LATEX_SPECIAL = {c: "\\" + c for c in "&%$#_{}"} | {"~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(c, c) for c in text)
