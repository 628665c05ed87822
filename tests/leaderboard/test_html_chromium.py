"""The HTML page in a real headless Chromium: it renders (screenshot) and the DOM holds the numbers."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from skill3d_eval.leaderboard import build_leaderboard, write_html
from tests.leaderboard.run_files import RunSpec, counting, write_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium)")


def chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", *args, page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


class ScoreCells(HTMLParser):
    """(run, column) → text of every score cell; the chart's image source."""

    def __init__(self):
        super().__init__()
        self.cells: dict[tuple[str, str], str] = {}
        self.significance: dict[str, str] = {}
        self.chart = ""
        self._open: tuple[str, object] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "td" and "data-column" in attributes:
            self._open = ("score", (attributes["data-run"], attributes["data-column"]))
            self.cells[self._open[1]] = ""
        elif tag == "td" and "significance" in (attributes.get("class") or ""):
            self._open = ("significance", attributes["data-run"])
            self.significance[attributes["data-run"]] = ""
        elif tag == "img" and attributes.get("id") == "chart":
            self.chart = attributes["src"]

    def handle_endtag(self, tag):
        if tag == "td":
            self._open = None

    def handle_data(self, data):
        if self._open and self._open[0] == "score":
            self.cells[self._open[1]] += data
        elif self._open:
            self.significance[self._open[1]] += data


def test_the_page_renders_in_headless_chromium_with_its_numbers(tmp_path):
    seed = write_run(tmp_path / "seed_skills", RunSpec(counting([1.0] * 30 + [0.0] * 10)))
    evolved = write_run(tmp_path / "evolved", RunSpec(counting([1.0] * 40)))
    page = write_html(build_leaderboard([seed, evolved], iterations=500), tmp_path / "leaderboard.html")

    source = page.read_text()
    assert "<link" not in source and "<script" not in source and 'src="http' not in source

    screenshot = tmp_path / "shot.png"
    chromium(page, tmp_path / "profile-shot", f"--screenshot={screenshot}", "--window-size=1200,900")
    image = imread(screenshot)
    assert image.shape[:2] == (900, 1200)
    assert np.std(image[..., :3]) > 0.05  # text, tables and the chart were drawn, not a blank page

    dom = chromium(page, tmp_path / "profile-dom", "--dump-dom").stdout
    cells = ScoreCells()
    cells.feed(dom)
    assert cells.cells[("seed_skills", "avg")].startswith("75.0")
    assert cells.cells[("evolved", "avg")].startswith("100.0")
    assert cells.cells[("evolved", "counting")] == "100.0[100.0, 100.0]"
    assert cells.significance["seed_skills"] == "reference"
    assert cells.significance["evolved"].startswith("+25.0 (p<0.001, better)")
    assert cells.chart.startswith("data:image/png;base64,")  # self-contained: the chart travels inside the page
