"""The HTML page in a real headless Chromium: it renders (screenshots), the DOM holds the numbers,
nothing overflows at 1024 and 1600 px, and its columns sort (by click and by a #sort= link)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from skill3d_eval.leaderboard import build_leaderboard, write_html
from skill3d_eval.records import ServedExpert
from tests.leaderboard.run_files import Q, RunSpec, counting, write_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium)")

# Run in the page by the test only (the page itself carries just its sort script): after load,
# optionally click a header, then write what the layout measured into <body data-measured>.
MEASURE = """
<script>
window.addEventListener("load", function () {
  var click = %s;
  if (click) document.querySelector('table.scores th[data-key="' + click + '"]').click();
  var details = document.querySelectorAll("details");
  details.forEach(function (section) { section.open = true; });  // the drill-down's tables must fit too
  var root = document.documentElement, width = root.clientWidth;
  var overflowing = [];
  document.querySelectorAll("body *").forEach(function (element) {
    var box = element.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 0.5) overflowing.push(element.tagName + "." + element.className + " right=" + box.right);
  });
  var chart = document.getElementById("chart"), chartBox = chart.getBoundingClientRect();
  var table = document.querySelector("table.scores");
  document.body.setAttribute("data-measured", JSON.stringify({
    clientWidth: width,
    scrollWidth: root.scrollWidth,
    overflowing: overflowing.slice(0, 20),
    chart: {left: chartBox.left, right: chartBox.right, width: chartBox.width, height: chartBox.height,
            naturalWidth: chart.naturalWidth, naturalHeight: chart.naturalHeight},
    order: Array.prototype.map.call(table.querySelectorAll("tbody tr[data-run]"), function (row) { return row.getAttribute("data-run"); }),
    ranks: Array.prototype.map.call(table.querySelectorAll("tbody tr[data-run] td.rank"), function (cell) { return cell.textContent; }),
    groups: Array.prototype.map.call(table.querySelectorAll("tbody[data-group]"), function (body) { return body.getAttribute("data-group"); }),
    details: details.length,
    sortedBy: document.querySelector("section[data-task]").getAttribute("data-sorted-by"),
    hash: window.location.hash
  }));
});
</script>
"""


def chromium(page: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
        f"--user-data-dir={profile}", *args, page,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def measured(page: Path, profile: Path, width: int, *, fragment: str = "", click: str | None = None) -> dict:
    """The page as a browser `width` px wide lays it out, after the optional #fragment and click."""
    probe = page.with_name(f"probe-{width}-{abs(hash((fragment, click)))}.html")
    probe.write_text(page.read_text().replace("</body>", MEASURE % json.dumps(click) + "</body>"))
    dom = chromium(probe.as_uri() + fragment, profile, "--dump-dom", f"--window-size={width},900", "--virtual-time-budget=5000").stdout
    found = re.search(r'data-measured="([^"]*)"', dom)
    assert found, dom[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


class ScoreCells(HTMLParser):
    """(run, column) → text of every score cell; the chart's image source."""

    def __init__(self):
        super().__init__()
        self.cells: dict[tuple[str, str], str] = {}
        self.significance: dict[str, str] = {}
        self.headers: list[str] = []
        self.chart = ""
        self._open: tuple[str, object] | None = None
        self._in_scores = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "table":
            self._in_scores = attributes.get("class") == "scores"
        elif tag == "th" and self._in_scores and "data-key" in attributes:
            self._open = ("header", len(self.headers))
            self.headers.append("")
        elif tag == "td" and "data-column" in attributes:
            self._open = ("score", (attributes["data-run"], attributes["data-column"]))
            self.cells[self._open[1]] = ""
        elif tag == "td" and "significance" in (attributes.get("class") or ""):
            self._open = ("significance", attributes["data-run"])
            self.significance[attributes["data-run"]] = ""
        elif tag == "img" and attributes.get("id") == "chart":
            self.chart = attributes["src"]

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._open = None
        elif tag == "table":
            self._in_scores = False

    def handle_data(self, data):
        if self._open is None:
            return
        kind, key = self._open
        if kind == "header":
            self.headers[key] += data
        elif kind == "score":
            self.cells[key] += data
        else:
            self.significance[key] += data


def test_the_page_renders_in_headless_chromium_with_its_numbers(tmp_path):
    seed = write_run(tmp_path / "seed_skills", RunSpec(counting([1.0] * 30 + [0.0] * 10)))
    evolved = write_run(tmp_path / "evolved", RunSpec(counting([1.0] * 40)))
    page = write_html(build_leaderboard([seed, evolved], iterations=500), tmp_path / "leaderboard.html")

    source = page.read_text()
    # self-contained: one inline script, no external script, stylesheet, font or image
    assert "<link" not in source and "<script src" not in source and 'src="http' not in source and "url(" not in source
    assert source.count("<script>") == 1

    screenshot = tmp_path / "shot.png"
    chromium(page.as_uri(), tmp_path / "profile-shot", f"--screenshot={screenshot}", "--window-size=1200,900")
    image = imread(screenshot)
    assert image.shape[:2] == (900, 1200)
    assert np.std(image[..., :3]) > 0.05  # text, tables and the chart were drawn, not a blank page

    dom = chromium(page.as_uri(), tmp_path / "profile-dom", "--dump-dom").stdout
    cells = ScoreCells()
    cells.feed(dom)
    assert cells.cells[("seed_skills", "avg")].startswith("75.0")
    assert cells.cells[("evolved", "avg")].startswith("100.0")
    assert cells.cells[("evolved", "counting")] == "100.0[100.0, 100.0]"
    assert cells.significance["seed_skills"] == "reference"
    assert cells.significance["evolved"] == "+25.0(p<0.001, better)"
    assert cells.chart.startswith("data:image/png;base64,")  # self-contained: the chart travels inside the page


LLM = {"model": "gpt-4o", "llm_backend": "openai", "temperature": 0.0, "max_turns": 6, "max_tokens": 1024}


def mixed(counts: list[float], directions: list[float]) -> list[Q]:
    """Counting questions, then relative-direction ones: two columns with different n."""
    return [*counting(counts), *(Q(100 + i, "object_rel_direction_easy", "A", "A" if s else "B", s) for i, s in enumerate(directions))]


@pytest.fixture(scope="module")
def grouped_page(tmp_path_factory) -> Path:
    """Five runs, one per group and two of ours, with long names and every descriptive column filled."""
    root = tmp_path_factory.mktemp("grouped")
    served = {"depth": ServedExpert(version="2", backend="real"), "detection": ServedExpert(version="1", backend="oracle")}
    runs = {
        "chance_frequency_train_split_distribution": RunSpec(mixed([0, 0, 1, 0, 0, 0], [1, 0, 0, 0, 1]), policy="chance_frequency", frames=32),
        "gpt_4o_tool_agent_on_the_hosted_endpoint": RunSpec(
            mixed([1, 1, 0, 0, 1, 0], [1, 1, 0, 1, 1]), policy="tool_agent", frames=32, served=served,
            settings={**LLM, "base_url": "https://api.example.com/v1"},
        ),
        "qwen2_5_vl_7b_instruct_served_by_vllm_on_localhost": RunSpec(
            mixed([1, 1, 1, 0, 1, 0], [1, 0, 1, 0, 0]), policy="tool_agent", frames=32, served=served,
            settings={**LLM, "model": "Qwen/Qwen2.5-VL-7B-Instruct", "base_url": "http://localhost:8000/v1"},
        ),
        "skill3d_evolved_library": RunSpec(
            mixed([1, 1, 1, 1, 1, 0], [1, 1, 0, 1, 1]), policy="skill3d", frames=32, library="e" * 64, served=served, settings=LLM,
        ),
        "program_seed_library": RunSpec(mixed([1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 1]), frames=32, library="f" * 64, served=served),
    }
    board = build_leaderboard([write_run(root / name, spec) for name, spec in runs.items()], reference="program_seed_library", iterations=300)
    return write_html(board, root / "out" / "leaderboard.html")


@pytest.mark.parametrize("width", [1024, 1600])
def test_nothing_overflows_and_the_chart_fits(grouped_page, tmp_path, width):
    layout = measured(grouped_page, tmp_path / "profile", width)
    assert layout["details"] == 2  # the drill-down (counting, rel dir), opened
    assert layout["scrollWidth"] <= layout["clientWidth"] and layout["overflowing"] == []
    chart = layout["chart"]
    assert chart["left"] >= 0 and chart["right"] <= layout["clientWidth"]
    # scaled as a whole (legend included), never cropped
    assert chart["height"] / chart["width"] == pytest.approx(chart["naturalHeight"] / chart["naturalWidth"], rel=0.02)
    screenshot = tmp_path / f"shot-{width}.png"
    chromium(grouped_page.as_uri(), tmp_path / "profile-shot", f"--screenshot={screenshot}", f"--window-size={width},900")
    image = imread(screenshot)
    assert image.shape[:2] == (900, width) and np.std(image[..., :3]) > 0.05


def test_rows_are_grouped_ranked_and_show_n_per_column(grouped_page, tmp_path):
    layout = measured(grouped_page, tmp_path / "profile", 1024)
    assert layout["groups"] == ["baselines", "API models", "open models", "ours"]
    # avg is the mean of counting and rel dir: program 0.6, skill3d ~0.817, qwen 0.53, gpt 0.65, chance 0.28
    assert layout["order"] == [
        "chance_frequency_train_split_distribution", "gpt_4o_tool_agent_on_the_hosted_endpoint",
        "qwen2_5_vl_7b_instruct_served_by_vllm_on_localhost", "skill3d_evolved_library", "program_seed_library",
    ]
    assert layout["ranks"] == ["5", "2", "4", "1", "3"] and layout["sortedBy"] == "avg:desc"
    cells = ScoreCells()
    cells.feed(grouped_page.read_text())
    assert cells.headers[2:5] == ["avg (n=11)", "counting (n=6)", "rel dir (n=5)"]


def test_columns_sort_by_click_and_by_link(grouped_page, tmp_path):
    by_link = measured(grouped_page, tmp_path / "profile-link", 1024, fragment="#sort=counting")
    # counting: program 6/6, skill3d 5/6, qwen 4/6, gpt 3/6: re-ranked, still inside their groups
    assert by_link["sortedBy"] == "counting:desc"
    assert by_link["order"][1:] == ["gpt_4o_tool_agent_on_the_hosted_endpoint", "qwen2_5_vl_7b_instruct_served_by_vllm_on_localhost", "program_seed_library", "skill3d_evolved_library"]
    assert by_link["ranks"] == ["5", "4", "3", "1", "2"]
    by_click = measured(grouped_page, tmp_path / "profile-click", 1024, click="rel dir")
    assert by_click["sortedBy"] == "rel dir:desc" and by_click["hash"] == "#sort=rel%20dir:desc"
    # rel dir: gpt 4/5 and skill3d 4/5 tie (shared rank 1), qwen 2/5, chance 2/5, program 1/5
    assert by_click["order"][-2:] == ["skill3d_evolved_library", "program_seed_library"]
    assert dict(zip(by_click["order"], by_click["ranks"])) == {
        "chance_frequency_train_split_distribution": "3", "gpt_4o_tool_agent_on_the_hosted_endpoint": "1",
        "qwen2_5_vl_7b_instruct_served_by_vllm_on_localhost": "3", "skill3d_evolved_library": "1", "program_seed_library": "5",
    }
