"""Cell text shared by every rendering, so the terminal, Markdown and HTML show the same numbers.

Scores are shown as percentages with one decimal, as the VSI-Bench leaderboard prints them.
"""

from __future__ import annotations

import math
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


def score_rows(table: BenchmarkTable) -> pd.DataFrame:
    """Display frame: run, policy, library, what differs from the reference, each score with its
    interval, then Δ avg vs the reference."""
    rows = {}
    for label in table.scores.index:
        runs = table.runs.loc[label]
        row = {"run": label, "policy": runs["policy"], "library": runs["library"] or "-", "differs": runs["differs"] or "-"}
        for column in table.scores.columns:
            row[column] = f"{percent(table.scores.loc[label, column])} {interval(table.ci_low.loc[label, column], table.ci_high.loc[label, column])}"
        row["Δ avg vs ref"] = significance_cell(table.significance.loc[label])
        rows[label] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def cost_rows(table: BenchmarkTable) -> pd.DataFrame:
    return pd.DataFrame(
        [{"run": label, **{title: cost(key, table.costs.loc[label, key]) for key, title in COST_COLUMNS.items()}} for label in table.costs.index]
    )
