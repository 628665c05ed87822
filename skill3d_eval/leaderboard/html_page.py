"""The leaderboard as one self-contained HTML page: inline style and script, the chart a data URI.

Every score cell carries its run, column and exact value (`data-run`, `data-column`,
`data-value`) so the page can be checked, or scraped, without parsing the display text. Every
header says what it means in its tooltip (`glossary`), and the page ends with the glossary. The
layout wraps instead of overflowing: the score intervals break after their comma, text cells
anywhere, and the chart scales to the page (`tests/leaderboard/test_html_chromium.py` checks
1024 and 1600 px wide windows).
"""

from __future__ import annotations

import base64
import math
import os
from html import escape
from pathlib import Path
from urllib.parse import quote

from skill3d_eval.leaderboard.cells import (
    cost,
    interval,
    p_value,
    percent,
    relative_error,
    score_header,
)
from skill3d_eval.leaderboard.chart import png_bytes
from skill3d_eval.leaderboard.glossary import (
    COST_DEFINITIONS,
    RUN_COLUMNS,
    STATISTICS,
    score_definition,
)
from skill3d_eval.leaderboard.html_script import SORT_SCRIPT
from skill3d_eval.leaderboard.render import CI_NOTE, glossary_entries
from skill3d_eval.leaderboard.table import COST_COLUMNS, BenchmarkTable, Leaderboard

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.45em; text-align: right; vertical-align: top; }
th { background: #f4f4f4; font-weight: 600; }
th[data-key] { cursor: pointer; }
th[aria-sort=descending]::after { content: " ▼"; } th[aria-sort=ascending]::after { content: " ▲"; }
th .n { display: block; font-weight: normal; color: #555; font-size: 0.85em; }
th.text, td.run, td.text { text-align: left; }
td.run, td.text, dd, li, h2, h3 { overflow-wrap: anywhere; }
td[data-field=library], td[data-field=date], td[data-field=frames] { overflow-wrap: normal; }
tr.group th { text-align: left; background: #e8eef8; cursor: default; }
td .ci, td .p { color: #777; font-size: 0.8em; display: block; }
tr.reference td { background: #f3f7ff; }
.better { color: #0a7a2f; } .worse { color: #b3261e; }
.mismatch { color: #b3261e; } .flag { color: #1a5fb4; } .note { color: #8a6d00; }
details { margin: 0.3em 0; } summary { cursor: pointer; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0.2em 0; font-size: 0.85em; }
img#chart { max-width: 100%; height: auto; }
dl.glossary dt { font-weight: 600; margin-top: 0.4em; } dl.glossary dd { margin-left: 1.5em; }
"""


def _header(key: str, text: str, title: str, *, numeric: bool, score: bool = False, first: str = "desc") -> str:
    attributes = f' data-key="{escape(key)}" title="{escape(title)}" data-first="{first}"' + ("" if numeric else ' class="text"')
    attributes += " data-numeric" if numeric else ""
    attributes += " data-score" if score else ""
    return f"<th{attributes}>{text}</th>"


def _group_rows(table: BenchmarkTable, width: int, row_html) -> str:
    """One <tbody> per group, headed by the group's name: sorting stays inside a group."""
    bodies: dict[str, list[str]] = {}
    for run in table.runs.index:
        bodies.setdefault(table.runs.loc[run, "group"], []).append(row_html(run))
    return "".join(
        f'<tbody data-group="{escape(group)}"><tr class="group"><th colspan="{width}" scope="rowgroup" title="{escape(STATISTICS["groups"])}">'
        f"{escape(group)}</th></tr>{''.join(rows)}</tbody>"
        for group, rows in bodies.items()
    )


def _rank_cell(table: BenchmarkTable, run: str) -> str:
    return f'<td class="rank" data-value="{table.runs.loc[run, "rank"]}">{table.runs.loc[run, "rank"]}</td>'


def _score_table(table: BenchmarkTable) -> str:
    columns = list(table.scores.columns)
    head = _header("rank", "rank", RUN_COLUMNS["rank"], numeric=True, first="asc") + _header("run", "run", RUN_COLUMNS["run"], numeric=False, first="asc")
    for column in columns:
        label = score_header(column, table.counts[column])
        text = f'{escape(column)} <span class="n">{escape(label[len(column) + 1:])}</span>'
        head += _header(column, text, f"{score_definition(column, table.layout)}. n: {STATISTICS['n']}", numeric=True, score=True)
    head += _header("Δ avg vs ref", "Δ avg vs ref", f"{STATISTICS['Δ avg vs ref']}; {STATISTICS['better / worse / n.s.']}", numeric=True)

    def row(run: str) -> str:
        significance = table.significance.loc[run]
        cells = [_rank_cell(table, run), f'<td class="run">{escape(run)}</td>']
        for column in columns:
            value = float(table.scores.loc[run, column])
            cells.append(
                f'<td class="score" data-task="{escape(table.task)}" data-run="{escape(run)}" data-column="{escape(column)}" data-value="{value:.6f}" data-shown="{percent(value)}">'
                f"{percent(value)}<span class=\"ci\">{interval(table.ci_low.loc[run, column], table.ci_high.loc[run, column])}</span></td>"
            )
        verdict = str(significance["verdict"])
        if verdict == "reference":
            text = "reference"
        else:
            text = f'{100 * significance["delta"]:+.1f}<span class="p">({p_value(significance["p_value"])}, {escape(verdict)})</span>'
        cells.append(
            f'<td class="significance {escape(verdict.replace(".", ""))}" data-run="{escape(run)}" data-p="{significance["p_value"]}" '
            f'data-value="{float(significance["delta"]):.6f}">{text}</td>'
        )
        css = ' class="reference"' if verdict == "reference" else ""
        return f'<tr data-run="{escape(run)}"{css}>{"".join(cells)}</tr>'

    return f'<table class="scores" data-sortable><thead><tr>{head}</tr></thead>{_group_rows(table, len(columns) + 3, row)}</table>'


_RUN_FIELDS = ("policy", "model", "endpoint", "experts", "frames", "library", "date", "differs")


def _run_table(table: BenchmarkTable) -> str:
    head = _header("rank", "rank", RUN_COLUMNS["rank"], numeric=True, first="asc") + "".join(
        _header(f"run:{key}" if key != "run" else "run", key, RUN_COLUMNS[key], numeric=False, first="asc") for key in ("run", *_RUN_FIELDS)
    )

    def row(run: str) -> str:
        cells = [_rank_cell(table, run), f'<td class="run">{escape(run)}</td>']
        cells += [f'<td class="text" data-field="{key}">{escape(str(table.runs.loc[run, key]) or "-")}</td>' for key in _RUN_FIELDS]
        return f'<tr data-run="{escape(run)}">{"".join(cells)}</tr>'

    return f'<table class="runs" data-sortable><thead><tr>{head}</tr></thead>{_group_rows(table, len(_RUN_FIELDS) + 2, row)}</table>'


def _cost_value(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value):
        return f' data-value="{float(value):.6f}"'
    if isinstance(value, dict):
        return f' data-value="{sum(value.values())}"'
    return ""


def _cost_table(table: BenchmarkTable) -> str:
    head = _header("run", "run", RUN_COLUMNS["run"], numeric=False, first="asc") + "".join(
        _header(f"cost:{key}", escape(title), COST_DEFINITIONS[key], numeric=True, first="asc") for key, title in COST_COLUMNS.items()
    )

    def row(run: str) -> str:
        cells = [f'<td class="run">{escape(run)}</td>'] + [
            f'<td data-run="{escape(run)}" data-metric="{key}"{_cost_value(table.costs.loc[run, key])}>{escape(cost(key, table.costs.loc[run, key]))}</td>'
            for key in COST_COLUMNS
        ]
        return f'<tr data-run="{escape(run)}">{"".join(cells)}</tr>'

    return f'<table class="costs" data-sortable><thead><tr>{head}</tr></thead>{_group_rows(table, len(COST_COLUMNS) + 1, row)}</table>'


def _href(path: Path, page_dir: Path | None) -> str:
    target = path.resolve()
    return quote(Path(os.path.relpath(target, page_dir.resolve())).as_posix()) if page_dir is not None else target.as_uri()


def _drilldown(table: BenchmarkTable, page_dir: Path | None) -> str:
    parts = [f"<h3>{escape(table.task)}: worst questions per column</h3>"]
    if not table.worst:
        return parts[0] + "<p>Every run answered every question of every column right.</p>"
    for column in table.scores.columns:
        worst = [w for w in table.worst if w.column == column]
        if not worst:
            continue
        rows = []
        for w in worst:
            if w.trajectory_file is not None:
                trace = f'<a href="{escape(_href(w.trajectory_file, page_dir))}">{escape(w.trajectory_file.name)}</a> {escape(w.sample_id or "")}<pre>{escape(chr(10).join(w.excerpt))}</pre>'
            else:
                trace = "no trajectory"
            rows.append(
                f'<tr data-run="{escape(w.run)}"><td class="run">{escape(w.run)}</td><td class="text">{escape(w.question)}</td>'
                f'<td class="text">{escape(w.answer)}</td><td class="text">{escape(w.target)}</td><td>{100 * w.score:.1f}</td>'
                f'<td>{escape(relative_error(w.relative_error))}</td><td class="text">{trace}</td></tr>'
            )
        parts.append(
            f'<details data-column="{escape(column)}"><summary>{escape(score_header(column, table.counts[column]))}: {len(worst)} questions</summary>'
            "<table class=\"drilldown\"><thead><tr><th class=\"text\">run</th><th class=\"text\">question</th><th class=\"text\">answer</th><th class=\"text\">truth</th><th>score</th>"
            f'<th title="|answer − truth| / truth for numeric questions">error</th><th class="text">trajectory</th></tr></thead><tbody>{"".join(rows)}</tbody></table></details>'
        )
    return "".join(parts)


def html(leaderboard: Leaderboard, *, chart: bool = True, page_dir: Path | None = None) -> str:
    """`page_dir`: where the page will be written, so trajectory links are relative to it."""
    body = ["<h1>Leaderboard</h1>"]
    for table in leaderboard.tables:
        section = [f"<h2>{escape(table.layout.name)}: {table.questions} questions, reference {escape(table.reference)}, ranked on {escape(table.sort_by)}</h2>"]
        section.append(_score_table(table))
        section.append(f"<p><em>{escape(CI_NOTE)}. Click a header to sort; the sort is kept in the link (#sort=COLUMN).</em></p>")
        section.append(f"<h3>{escape(table.task)}: how each run was made</h3>{_run_table(table)}")
        section.append(f"<h3>{escape(table.task)}: cost per question</h3>{_cost_table(table)}")
        if table.flagged:
            section.append("<h3>Differences from the reference</h3><ul>" + "".join(f'<li class="flag">{escape(str(m))}</li>' for m in table.flagged) + "</ul>")
        if table.excluded:
            section.append("<h3>Not compared</h3><ul>" + "".join(f'<li class="mismatch">{escape(str(m))}</li>' for m in table.excluded) + "</ul>")
        section.append(_drilldown(table, page_dir))
        body.append(f'<section data-task="{escape(table.task)}" data-sorted-by="{escape(table.sort_by)}:desc">{"".join(section)}</section>')
    if leaderboard.notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f'<li class="note">{escape(note)}</li>' for note in leaderboard.notes) + "</ul>")
    if chart and leaderboard.tables:
        encoded = base64.b64encode(png_bytes(leaderboard)).decode()
        body.append(f'<h2>Chart</h2><img id="chart" alt="scores with 95% intervals" src="data:image/png;base64,{encoded}">')
    body.append('<h2 id="glossary">Glossary</h2><dl class="glossary">' + "".join(f"<dt>{escape(term)}</dt><dd>{escape(text)}</dd>" for term, text in glossary_entries(leaderboard)) + "</dl>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>Leaderboard</title><style>{STYLE}</style></head><body>{''.join(body)}<script>{SORT_SCRIPT}</script></body></html>\n"
    )


def write_html(leaderboard: Leaderboard, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html(leaderboard, page_dir=path.parent), encoding="utf-8")
    return path
