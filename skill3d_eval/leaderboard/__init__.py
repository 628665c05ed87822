"""Compare evaluated runs honestly: same questions only, intervals, paired significance, costs."""

from skill3d_eval.leaderboard.chart import write_png
from skill3d_eval.leaderboard.comparability import Mismatch
from skill3d_eval.leaderboard.html_page import write_html
from skill3d_eval.leaderboard.perception import PerceptionSplit, perception_split, perception_split_of
from skill3d_eval.leaderboard.render import markdown, print_leaderboard, terminal_text
from skill3d_eval.leaderboard.report import report
from skill3d_eval.leaderboard.runs import RunLoadError, RunResult, load_run
from skill3d_eval.leaderboard.table import BenchmarkTable, Leaderboard, LeaderboardError, build_leaderboard
from skill3d_eval.leaderboard.writers import write_all, write_markdown

__all__ = [
    "BenchmarkTable",
    "Leaderboard",
    "LeaderboardError",
    "Mismatch",
    "PerceptionSplit",
    "RunLoadError",
    "RunResult",
    "build_leaderboard",
    "load_run",
    "markdown",
    "perception_split",
    "perception_split_of",
    "print_leaderboard",
    "report",
    "terminal_text",
    "write_all",
    "write_html",
    "write_markdown",
    "write_png",
]
