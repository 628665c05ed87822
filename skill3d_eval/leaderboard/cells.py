"""Cell text shared by every rendering, so the terminal, Markdown and HTML show the same numbers.

Scores are shown as percentages with one decimal, as the VSI-Bench leaderboard prints them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from skill3d_eval.leaderboard.table import COST_COLUMNS, BenchmarkTable

NOT_AVAILABLE = "n/a"


def percent(value: float | None) -> str:
    return NOT_AVAILABLE if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}"


def interval(low: float, high: float) -> str:
    return f"[{percent(low)}, {percent(high)}]"


def p_value(value: float) -> str:
    if math.isnan(value):
        return ""
    return "p<0.001" if value < 0.001 else f"p={value:.3f}"


def significance_cell(row: pd.Series) -> str:
    if row["verdict"] == "reference":
        return "reference"
    return f"{100 * row['delta']:+.1f} ({p_value(row['p_value'])}, {row['verdict']})"


def cost(key: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_AVAILABLE
    if key == "errors":
        return ", ".join(f"{kind} {count}" for kind, count in value.items()) or "0"
    if key in ("effective_tool_usage", "invalid_tool_call_rate", "cache_hit_rate"):
        return f"{100 * value:.0f}%"
    if key.endswith("tokens_per_question"):
        return f"{value:.0f}"
    if "seconds" in key:
        return f"{value:.2f}"
    return f"{value:.2f}"


def score_header(column: str, count: int) -> str:
    """'counting (n=24)': a 0.0 from 5 questions must not read like a 0.0 from 500."""
    return f"{column} (n={count})"


@dataclass
class DisplayTable:
    """A table as text cells, its rows under their group headings, in the table's order.

    `keys` name the columns stably (score column labels, RUN_FIELDS, COST_COLUMNS keys) for
    tooltips; `columns` are the header texts.
    """

    keys: list[str]
    columns: list[str]
    groups: list[tuple[str, list[list[str]]]]

    @property
    def rows(self) -> list[list[str]]:
        return [row for _, rows in self.groups for row in rows]


def _grouped(table: BenchmarkTable, row_of) -> list[tuple[str, list[list[str]]]]:
    groups: dict[str, list[list[str]]] = {}
    for label in table.runs.index:
        groups.setdefault(table.runs.loc[label, "group"], []).append(row_of(label))
    return list(groups.items())


def score_cell(table: BenchmarkTable, label: str, column: str) -> str:
    return f"{percent(table.scores.loc[label, column])} {interval(table.ci_low.loc[label, column], table.ci_high.loc[label, column])}"


def score_display(table: BenchmarkTable) -> DisplayTable:
    """Rank, run, each score column (n in its header) with its interval, then Δ avg vs the reference."""
    columns = list(table.scores.columns)
    return DisplayTable(
        keys=["rank", "run", *columns, "Δ avg vs ref"],
        columns=["rank", "run", *(score_header(c, table.counts[c]) for c in columns), "Δ avg vs ref"],
        groups=_grouped(
            table,
            lambda label: [
                str(table.runs.loc[label, "rank"]), label,
                *(score_cell(table, label, c) for c in columns),
                significance_cell(table.significance.loc[label]),
            ],
        ),
    )


RUN_DISPLAY_FIELDS = ("policy", "model", "endpoint", "experts", "frames", "library", "date", "differs")
# Columns of words, aligned left; every other column holds numbers, aligned right.
TEXT_KEYS = frozenset({"run", "policy", "model", "endpoint", "experts", "library", "date", "differs", "errors"})


def run_display(table: BenchmarkTable) -> DisplayTable:
    """How each run was made: policy, model, endpoint, experts, frames, library, date, what differs."""
    return DisplayTable(
        keys=["rank", "run", *RUN_DISPLAY_FIELDS],
        columns=["rank", "run", *RUN_DISPLAY_FIELDS],
        groups=_grouped(table, lambda label: [str(table.runs.loc[label, "rank"]), label, *(str(table.runs.loc[label, f]) or "-" for f in RUN_DISPLAY_FIELDS)]),
    )


def cost_display(table: BenchmarkTable) -> DisplayTable:
    return DisplayTable(
        keys=["run", *COST_COLUMNS],
        columns=["run", *COST_COLUMNS.values()],
        groups=_grouped(table, lambda label: [label, *(cost(key, table.costs.loc[label, key]) for key in COST_COLUMNS)]),
    )


def relative_error(value: float | None) -> str:
    if value is None:
        return "-"
    return "no number" if math.isinf(value) else f"{100 * value:.0f}%"
