"""The leaderboard as text: a terminal table (rich) and Markdown."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TypeVar

from rich.console import Console
from rich.table import Table

from skill3d_eval.leaderboard.cells import cost_rows, score_rows
from skill3d_eval.leaderboard.table import BenchmarkTable, Leaderboard

T = TypeVar("T")

CI_NOTE = "scores in %, [95% bootstrap CI over questions]; Δ avg: paired bootstrap vs the reference on the same questions"


def _title(table: BenchmarkTable) -> str:
    return f"{table.layout.name}: {table.questions} questions, reference {table.reference}"


def _rich_table(title: str, frame) -> Table:
    rich_table = Table(title=title, title_justify="left")
    for column in frame.columns:
        rich_table.add_column(str(column), justify="left" if column in ("run", "policy", "library", "differs") else "right")
    for _, row in frame.iterrows():
        # The interval (and the significance) under the score: one column per task then fits a
        # terminal without rich wrapping every cell over three lines and eliding the run names.
        rich_table.add_row(*[str(value).replace(" [", "\n[").replace(" (", "\n(") for value in row], end_section=True)
    return rich_table


def print_leaderboard(leaderboard: Leaderboard, console: Console | None = None) -> None:
    console = console or Console()
    for table in leaderboard.tables:
        console.print(_rich_table(_title(table), score_rows(table)))
        console.print(CI_NOTE, style="dim")
        console.print(_rich_table(f"{table.task}: cost per question", cost_rows(table)))
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


def markdown(leaderboard: Leaderboard) -> str:
    parts = ["# Leaderboard", ""]
    for table in leaderboard.tables:
        parts += [f"## {_title(table)}", "", score_rows(table).to_markdown(index=False), "", f"_{CI_NOTE}._", ""]
        parts += [f"### {table.task}: cost per question", "", cost_rows(table).to_markdown(index=False), ""]
        if table.flagged:
            parts += ["### Differences from the reference", ""] + [f"- {flag}" for flag in table.flagged] + [""]
        if table.excluded:
            parts += ["### Not compared", ""] + [f"- {mismatch}" for mismatch in table.excluded] + [""]
    if leaderboard.notes:
        parts += ["## Notes", ""] + [f"- {note}" for note in leaderboard.notes] + [""]
    return "\n".join(parts)
