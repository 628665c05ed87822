"""The leaderboard as one self-contained HTML page: inline style, the chart embedded as a data URI.

Every score cell carries its run, column and exact value (`data-run`, `data-column`,
`data-value`) so the page can be checked, or scraped, without parsing the display text.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from skill3d_eval.leaderboard.cells import cost, interval, percent, significance_cell
from skill3d_eval.leaderboard.chart import png_bytes
from skill3d_eval.leaderboard.render import CI_NOTE
from skill3d_eval.leaderboard.table import COST_COLUMNS, BenchmarkTable, Leaderboard

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td.run, td.text { text-align: left; }
td .ci { color: #777; font-size: 0.8em; display: block; }
tr.reference td { background: #f3f7ff; }
.better { color: #0a7a2f; } .worse { color: #b3261e; }
.mismatch { color: #b3261e; } .flag { color: #1a5fb4; } .note { color: #8a6d00; }
"""


def _score_table(table: BenchmarkTable) -> str:
    columns = list(table.scores.columns)
    head = "".join(f"<th>{escape(c)}</th>" for c in ["run", "policy", "library", "differs", *columns, "Δ avg vs ref"])
    rows = []
    for run in table.scores.index:
        significance = table.significance.loc[run]
        cells = [f'<td class="run">{escape(run)}</td>'] + [f'<td class="text">{escape(str(table.runs.loc[run, key]) or "-")}</td>' for key in ("policy", "library", "differs")]
        for column in columns:
            value = float(table.scores.loc[run, column])
            cells.append(
                f'<td class="score" data-task="{escape(table.task)}" data-run="{escape(run)}" data-column="{escape(column)}" data-value="{value:.6f}">'
                f"{percent(value)}<span class=\"ci\">{interval(table.ci_low.loc[run, column], table.ci_high.loc[run, column])}</span></td>"
            )
        cells.append(f'<td class="significance {escape(str(significance["verdict"]).replace(".", ""))}" data-run="{escape(run)}" data-p="{significance["p_value"]}">{escape(significance_cell(significance))}</td>')
        css = ' class="reference"' if significance["verdict"] == "reference" else ""
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    return f"<table class=\"scores\"><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _cost_table(table: BenchmarkTable) -> str:
    head = "".join(f"<th>{escape(title)}</th>" for title in ["run", *COST_COLUMNS.values()])
    rows = []
    for run in table.costs.index:
        cells = [f'<td class="run">{escape(run)}</td>'] + [
            f'<td data-run="{escape(run)}" data-metric="{key}">{escape(cost(key, table.costs.loc[run, key]))}</td>' for key in COST_COLUMNS
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table class=\"costs\"><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def html(leaderboard: Leaderboard, *, chart: bool = True) -> str:
    body = ["<h1>Leaderboard</h1>"]
    for table in leaderboard.tables:
        body.append(f"<h2>{escape(table.layout.name)}: {table.questions} questions, reference {escape(table.reference)}</h2>")
        body.append(_score_table(table))
        body.append(f"<p><em>{escape(CI_NOTE)}.</em></p>")
        body.append(f"<h3>{escape(table.task)}: cost per question</h3>")
        body.append(_cost_table(table))
        if table.flagged:
            body.append("<h3>Differences from the reference</h3><ul>" + "".join(f'<li class="flag">{escape(str(m))}</li>' for m in table.flagged) + "</ul>")
        if table.excluded:
            body.append("<h3>Not compared</h3><ul>" + "".join(f'<li class="mismatch">{escape(str(m))}</li>' for m in table.excluded) + "</ul>")
    if leaderboard.notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f'<li class="note">{escape(note)}</li>' for note in leaderboard.notes) + "</ul>")
    if chart and leaderboard.tables:
        encoded = base64.b64encode(png_bytes(leaderboard)).decode()
        body.append(f'<h2>Chart</h2><img id="chart" alt="scores with 95% intervals" src="data:image/png;base64,{encoded}">')
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Leaderboard</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write_html(leaderboard: Leaderboard, path: Path) -> Path:
    path.write_text(html(leaderboard), encoding="utf-8")
    return path
