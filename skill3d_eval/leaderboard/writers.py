"""Writing the leaderboard's files next to each other: Markdown, the HTML page and the PNG chart."""

from __future__ import annotations

from pathlib import Path

from skill3d_eval.leaderboard.chart import write_png
from skill3d_eval.leaderboard.html_page import write_html
from skill3d_eval.leaderboard.render import markdown
from skill3d_eval.leaderboard.table import Leaderboard


def write_markdown(leaderboard: Leaderboard, path: Path) -> Path:
    path.write_text(markdown(leaderboard), encoding="utf-8")
    return path


def write_all(leaderboard: Leaderboard, directory: Path, stem: str = "leaderboard") -> dict[str, Path]:
    """`<stem>.md`, `<stem>.html`, `<stem>.png` in `directory` (created)."""
    directory.mkdir(parents=True, exist_ok=True)
    return {
        "markdown": write_markdown(leaderboard, directory / f"{stem}.md"),
        "html": write_html(leaderboard, directory / f"{stem}.html"),
        "png": write_png(leaderboard, directory / f"{stem}.png"),
    }
