"""The perception split as a terminal table, Markdown and a self-contained HTML page.

One table per group (a policy on a question set, around its all-oracle reference), a row per
swapped expert; each column's cell holds both runs' scores and the drop with its interval, so
the three renderings show the same numbers.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from skill3d_eval.leaderboard.cells import interval, p_value, percent
from skill3d_eval.leaderboard.html_page import STYLE
from skill3d_eval.leaderboard.perception import ExpertSwap, PerceptionGroup, PerceptionSplit
from skill3d_eval.leaderboard.render import captured
from skill3d_eval.leaderboard.table import SIGNIFICANCE_LEVEL

NOTE = (
    "cells: reference → swapped score in %, drop = reference − swapped in points "
    f"[paired bootstrap 95% CI over the same questions], * p<{SIGNIFICANCE_LEVEL}"
)


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


def drop_cell(swap: ExpertSwap, column: str) -> str:
    row = swap.scores.loc[column]
    mark = "*" if row["p_value"] < SIGNIFICANCE_LEVEL else ""
    return f"{percent(row['reference'])} → {percent(row['swapped'])} drop {_points(row['drop'])} {interval(row['ci_low'], row['ci_high'])}{mark}"


def _test_cell(swap: ExpertSwap) -> str:
    return f"{p_value(swap.scores.loc['avg', 'p_value'])}, {swap.verdict}"


def title(group: PerceptionGroup) -> str:
    return f"{group.layout.name}: {group.questions} questions, policy {group.policy}, reference {group.reference} (every expert an exact oracle)"


def swap_rows(group: PerceptionGroup) -> pd.DataFrame:
    """Display frame: run, expert, its condition in the swapped run, one cell per column, the test on avg."""
    columns = list(group.swaps[0].scores.index) if group.swaps else []
    rows = [
        {"run": swap.run, "expert": swap.expert, "swapped to": swap.condition, **{column: drop_cell(swap, column) for column in columns}, "test (avg)": _test_cell(swap)}
        for swap in group.swaps
    ]
    return pd.DataFrame(rows, columns=["run", "expert", "swapped to", *columns, "test (avg)"])


def print_split(split: PerceptionSplit, console: Console | None = None) -> None:
    console = console or Console()
    for group in split.groups:
        frame = swap_rows(group)
        table = Table(title=title(group), title_justify="left")
        for column in frame.columns:
            table.add_column(str(column), justify="left" if column in ("run", "expert", "swapped to") else "right")
        for _, row in frame.iterrows():
            # Scores, drop and interval on three lines: a column per task then fits a terminal.
            table.add_row(*[str(value).replace(" drop ", "\n").replace(" [", "\n[") for value in row], end_section=True)
        console.print(table)
        console.print(NOTE, style="dim", markup=False)  # its brackets are text, not rich markup
        for item in group.unattributed:
            console.print(f"not attributable: {item.run}: {item.reason}", style="cyan", markup=False)
    for task, items in split.ungrouped.items():
        for item in items:
            console.print(f"{task}: in no group: {item.run}: {item.reason}", style="yellow", markup=False)
    for note in split.notes:
        console.print(f"note: {note}", style="yellow", markup=False)


def terminal_text(split: PerceptionSplit, width: int = 200) -> str:
    return captured(print_split, split, width)


def markdown(split: PerceptionSplit) -> str:
    parts = ["# Perception vs reasoning: one expert swapped at a time", ""]
    for group in split.groups:
        parts += [f"## {title(group)}", ""]
        parts += [swap_rows(group).to_markdown(index=False) if group.swaps else "No run differs from the reference in exactly one expert.", "", f"_{NOTE}._", ""]
        if group.unattributed:
            parts += ["### Not attributable to one expert", ""] + [f"- {item.run}: {item.reason}" for item in group.unattributed] + [""]
    for task, items in split.ungrouped.items():
        parts += [f"## {task}: runs in no group", ""] + [f"- {item.run}: {item.reason}" for item in items] + [""]
    if split.notes:
        parts += ["## Notes", ""] + [f"- {note}" for note in split.notes] + [""]
    return "\n".join(parts)


def _swap_table(group: PerceptionGroup) -> str:
    columns = list(group.swaps[0].scores.index)
    head = "".join(f"<th>{escape(c)}</th>" for c in ["run", "expert", "swapped to", *columns, "test (avg)"])
    rows = []
    for swap in group.swaps:
        cells = [f'<td class="run">{escape(swap.run)}</td>', f'<td class="text">{escape(swap.expert)}</td>', f'<td class="text">{escape(swap.condition)}</td>']
        for column in columns:
            row = swap.scores.loc[column]
            data = " ".join(f'data-{key.replace("_", "-")}="{float(row[key]):.6f}"' for key in ("reference", "swapped", "drop", "ci_low", "ci_high", "p_value"))
            significant = "worse" if row["p_value"] < SIGNIFICANCE_LEVEL and row["drop"] > 0 else "better" if row["p_value"] < SIGNIFICANCE_LEVEL else ""
            cells.append(
                f'<td class="drop {significant}" data-task="{escape(group.task)}" data-run="{escape(swap.run)}" data-expert="{escape(swap.expert)}" data-column="{escape(column)}" {data}>'
                f"{percent(row['reference'])} → {percent(row['swapped'])}"
                f"<span class=\"ci\">drop {_points(row['drop'])} {interval(row['ci_low'], row['ci_high'])}{'*' if significant else ''}</span></td>"
            )
        cells.append(f'<td class="significance">{escape(_test_cell(swap))}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table class=\"perception\"><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def html(split: PerceptionSplit) -> str:
    body = ["<h1>Perception vs reasoning: one expert swapped at a time</h1>"]
    for group in split.groups:
        body.append(f"<h2>{escape(title(group))}</h2>")
        body.append(_swap_table(group) if group.swaps else "<p>No run differs from the reference in exactly one expert.</p>")
        body.append(f"<p><em>{escape(NOTE)}.</em></p>")
        if group.unattributed:
            body.append("<h3>Not attributable to one expert</h3><ul>" + "".join(f'<li class="flag">{escape(f"{i.run}: {i.reason}")}</li>' for i in group.unattributed) + "</ul>")
    for task, items in split.ungrouped.items():
        body.append(f"<h2>{escape(task)}: runs in no group</h2><ul>" + "".join(f'<li class="mismatch">{escape(f"{i.run}: {i.reason}")}</li>' for i in items) + "</ul>")
    if split.notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f'<li class="note">{escape(note)}</li>' for note in split.notes) + "</ul>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Perception vs reasoning</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write_split(split: PerceptionSplit, directory: Path, stem: str = "perception") -> dict[str, Path]:
    """`<stem>.md` and `<stem>.html` in `directory` (created)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {"markdown": directory / f"{stem}.md", "html": directory / f"{stem}.html"}
    written["markdown"].write_text(markdown(split), encoding="utf-8")
    written["html"].write_text(html(split), encoding="utf-8")
    return written
