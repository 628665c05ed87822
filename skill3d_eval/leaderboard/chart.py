"""The leaderboard as a PNG: per benchmark, grouped bars per column with 95% interval whiskers.

Bars follow the table's order (grouped, best first). The legend sits under the axes, in as many
columns as fit, and the constrained layout makes room for it inside the figure: beside the axes
it was cut off once there were many runs. The figure is at most 12 inches (1320 px) wide; the
HTML page scales it down to its width.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from skill3d_eval.leaderboard.table import Leaderboard

DPI = 110
MAX_WIDTH_INCHES = 12.0


def _legend_columns(labels: list[str], width_inches: float) -> int:
    """As many legend entries per row as fit the figure's width ('small' text, ~0.07 in a character)."""
    entry = max(len(label) for label in labels) + 5  # the colour patch and the gap
    return max(1, min(len(labels), int(width_inches / 0.07) // entry))


def _legend_label(table, run: str) -> str:
    return f"{table.runs.loc[run, 'rank']}. {run}"


def chart_figure(leaderboard: Leaderboard) -> Figure:
    tables = leaderboard.tables
    width = min(MAX_WIDTH_INCHES, max(7.0, 1.0 * max(len(t.scores.columns) for t in tables) + 3))
    legend_columns = [_legend_columns([_legend_label(t, run) for run in t.scores.index], width) for t in tables]
    height = sum(3.4 + 0.22 * int(np.ceil(len(t.scores.index) / n)) for t, n in zip(tables, legend_columns))
    # A bare Figure renders with Agg on savefig: no pyplot state, no display, safe in threads.
    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots(len(tables), 1, squeeze=False)
    for axis, table, columns_of_legend in zip(axes[:, 0], tables, legend_columns):
        columns = list(table.scores.columns)
        runs = list(table.scores.index)
        width = 0.8 / len(runs)
        x = np.arange(len(columns))
        for i, run in enumerate(runs):
            values = 100 * table.scores.loc[run].to_numpy(dtype=float)
            low = 100 * table.ci_low.loc[run].to_numpy(dtype=float)
            high = 100 * table.ci_high.loc[run].to_numpy(dtype=float)
            axis.bar(x + (i - (len(runs) - 1) / 2) * width, values, width, yerr=[values - low, high - values], capsize=2, label=_legend_label(table, run))
        axis.set_xticks(x, [f"{c}\nn={table.counts[c]}" for c in columns], fontsize="small")
        axis.set_ylim(0, 105)
        axis.set_ylabel("score (%)")
        axis.set_title(f"{table.layout.name} ({table.questions} questions)", loc="left")
        axis.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=columns_of_legend, frameon=False)
        axis.grid(axis="y", alpha=0.3)
    return figure


def png_bytes(leaderboard: Leaderboard, dpi: int = DPI) -> bytes:
    buffer = io.BytesIO()
    chart_figure(leaderboard).savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def write_png(leaderboard: Leaderboard, path: Path) -> Path:
    path.write_bytes(png_bytes(leaderboard))
    return path
