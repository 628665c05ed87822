"""The leaderboard as a PNG: per benchmark, grouped bars per column with 95% interval whiskers."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from skill3d_eval.leaderboard.table import Leaderboard


def png_bytes(leaderboard: Leaderboard, dpi: int = 110) -> bytes:
    tables = leaderboard.tables
    # A bare Figure renders with Agg on savefig: no pyplot state, no display, safe in threads.
    figure = Figure(figsize=(max(6.0, 1.3 * max(len(t.scores.columns) for t in tables) + 3), 3.6 * len(tables)))
    axes = figure.subplots(len(tables), 1, squeeze=False)
    for axis, table in zip(axes[:, 0], tables):
        columns = list(table.scores.columns)
        runs = list(table.scores.index)
        width = 0.8 / len(runs)
        x = np.arange(len(columns))
        for i, run in enumerate(runs):
            values = 100 * table.scores.loc[run].to_numpy(dtype=float)
            low = 100 * table.ci_low.loc[run].to_numpy(dtype=float)
            high = 100 * table.ci_high.loc[run].to_numpy(dtype=float)
            axis.bar(x + (i - (len(runs) - 1) / 2) * width, values, width, yerr=[values - low, high - values], capsize=2, label=run)
        axis.set_xticks(x, columns)
        axis.set_ylim(0, 105)
        axis.set_ylabel("score (%)")
        axis.set_title(f"{table.layout.name} ({table.questions} questions)", loc="left")
        # Beside the axes: inside, it covered the bars of the last columns.
        axis.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def write_png(leaderboard: Leaderboard, path: Path) -> Path:
    path.write_bytes(png_bytes(leaderboard))
    return path
