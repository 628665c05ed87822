"""The leaderboard as text: terminal tables (rich) that fit the console, and Markdown.

A VSI-Bench table has nine score columns, each a score over its 95% interval: about 160
characters, more than a terminal has. Rather than let rich squeeze cells (it cuts numbers to
"…"), each table is split into column chunks that fit the console's width, every chunk
repeating the rank and the run; only descriptive text (policy, experts, date) may wrap.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import TypeVar

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from skill3d_eval.leaderboard.cells import (
    TEXT_KEYS,
    DisplayTable,
    cost_display,
    relative_error,
    run_display,
    score_display,
)
from skill3d_eval.leaderboard.glossary import entries, score_definition
from skill3d_eval.leaderboard.table import BenchmarkTable, Leaderboard

T = TypeVar("T")

CI_NOTE = "scores in %, [95% bootstrap CI over questions]; n: questions per column; Δ avg: paired bootstrap vs the reference on the same questions"
# Descriptive columns that may wrap in a terminal, and how wide they may grow before they do.
_WRAPPING = {"policy": 22, "model": 20, "endpoint": 22, "experts": 20, "date": 16, "differs": 16, "errors": 16}


def _title(table: BenchmarkTable) -> str:
    return f"{table.layout.name}: {table.questions} questions, reference {table.reference}, ranked on {table.sort_by}"


def _rich_table(title: str | None, display: DisplayTable, indices: Sequence[int]) -> Table:
    rich_table = Table(title=title, title_justify="left", box=box.SIMPLE, show_edge=False)
    for i in indices:
        key = display.keys[i]
        wraps = key in _WRAPPING
        rich_table.add_column(
            display.columns[i].replace(" (n=", "\n(n="),
            justify="left" if key in TEXT_KEYS else "right",
            no_wrap=not wraps,
            max_width=_WRAPPING.get(key),
            overflow="fold",
        )
    label_at = list(indices).index(display.keys.index("run"))
    for group, rows in display.groups:
        heading = [Text("")] * len(indices)
        heading[label_at] = Text(group, style="bold")
        rich_table.add_row(*heading, end_section=True)
        for row in rows:
            # The interval (and the significance) under the score keeps a score column 14 wide.
            cells = [row[i] if display.keys[i] in _WRAPPING else row[i].replace(" [", "\n[").replace(" (", "\n(") for i in indices]
            rich_table.add_row(*map(Text, cells), end_section=True)  # Text: a run named "[x]" is no markup
    return rich_table


def _natural_width(table: Table) -> int:
    buffer = io.StringIO()
    Console(file=buffer, width=10_000, color_system=None).print(table)
    return max((len(line) for line in buffer.getvalue().splitlines()), default=0)


def fitted(title: str, display: DisplayTable, width: int, fixed: int) -> list[Table]:
    """`display` split into tables no wider than `width`, each repeating its first `fixed` columns."""
    head = list(range(fixed))
    chunks: list[list[int]] = []
    current: list[int] = []
    for i in range(fixed, len(display.keys)):
        candidate = [*current, i]
        if current and _natural_width(_rich_table(None, display, head + candidate)) > width:
            chunks.append(current)
            candidate = [i]
        current = candidate
    chunks.append(current)
    return [
        _rich_table(title if n == 0 else f"{title} (continued, {n + 1}/{len(chunks)})", display, head + chunk)
        for n, chunk in enumerate(chunks)
    ]


def print_leaderboard(leaderboard: Leaderboard, console: Console | None = None) -> None:
    console = console or Console()
    width = console.width
    for table in leaderboard.tables:
        for part in fitted(_title(table), score_display(table), width, fixed=2):
            console.print(part)
        console.print(CI_NOTE, style="dim")
        for part in fitted(f"{table.task}: how each run was made", run_display(table), width, fixed=2):
            console.print(part)
        for part in fitted(f"{table.task}: cost per question", cost_display(table), width, fixed=1):
            console.print(part)
        for flag in table.flagged:
            console.print(f"differs: {flag}", style="cyan")
        for mismatch in table.excluded:
            console.print(f"not compared: {mismatch}", style="bold red")
    for note in leaderboard.notes:
        console.print(f"note: {note}", style="yellow")


def terminal_text(leaderboard: Leaderboard, width: int = 200) -> str:
    return captured(print_leaderboard, leaderboard, width)


def captured(print_view: Callable[[T, Console], None], view: T, width: int = 200) -> str:
    """What `print_view` shows on a plain console `width` columns wide (files, tests)."""
    buffer = io.StringIO()
    print_view(view, Console(file=buffer, width=width, color_system=None))
    return buffer.getvalue()


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(display: DisplayTable) -> list[str]:
    """A pipe table with each group's name as a bold row above its runs."""
    label_column = display.keys.index("run")
    lines = ["| " + " | ".join(map(_markdown_cell, display.columns)) + " |", "|" + "|".join(":---" if key in TEXT_KEYS else "---:" for key in display.keys) + "|"]
    for group, rows in display.groups:
        heading = [""] * len(display.keys)
        heading[label_column] = f"**{group}**"
        lines.append("| " + " | ".join(heading) + " |")
        lines += ["| " + " | ".join(map(_markdown_cell, row)) + " |" for row in rows]
    return lines


def _drilldown_markdown(table: BenchmarkTable) -> list[str]:
    parts = [f"### {table.task}: worst questions per column", ""]
    if not table.worst:
        return [*parts, "Every run answered every question of every column right.", ""]
    parts += ["Lowest-scored questions first (largest error first among numeric answers); the trajectory is the run's `trajectories.jsonl` line with that `sample_id`.", ""]
    for column in table.scores.columns:
        worst = [w for w in table.worst if w.column == column]
        if not worst:
            continue
        parts += [f"#### {column} (n={table.counts[column]})", "", "| run | question | answer | truth | score | error | trajectory |", "|:---|:---|:---|:---|---:|---:|:---|"]
        for w in worst:
            trace = "<br>".join(f"`{_markdown_cell(line).replace('`', '')}`" for line in w.excerpt)
            where = f"{w.trajectory_file} `{w.sample_id}`<br>{trace}" if w.trajectory_file else "no trajectory"
            parts.append("| " + " | ".join([w.run, _markdown_cell(w.question), _markdown_cell(w.answer), _markdown_cell(w.target), f"{100 * w.score:.1f}", relative_error(w.relative_error), where]) + " |")
        parts.append("")
    return parts


def glossary_entries(leaderboard: Leaderboard) -> list[tuple[str, str]]:
    scores = {column: score_definition(column, table.layout) for table in leaderboard.tables for column in table.scores.columns}
    return entries(scores)


def markdown(leaderboard: Leaderboard) -> str:
    parts = ["# Leaderboard", ""]
    for table in leaderboard.tables:
        parts += [f"## {_title(table)}", "", *markdown_table(score_display(table)), "", f"_{CI_NOTE}._", ""]
        parts += [f"### {table.task}: how each run was made", "", *markdown_table(run_display(table)), ""]
        parts += [f"### {table.task}: cost per question", "", *markdown_table(cost_display(table)), ""]
        if table.flagged:
            parts += ["### Differences from the reference", ""] + [f"- {flag}" for flag in table.flagged] + [""]
        if table.excluded:
            parts += ["### Not compared", ""] + [f"- {mismatch}" for mismatch in table.excluded] + [""]
        parts += _drilldown_markdown(table)
    if leaderboard.notes:
        parts += ["## Notes", ""] + [f"- {note}" for note in leaderboard.notes] + [""]
    parts += ["## Glossary", ""] + [f"- **{term}**: {definition}" for term, definition in glossary_entries(leaderboard)] + [""]
    return "\n".join(parts)
