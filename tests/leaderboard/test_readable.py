"""The leaderboard read at a glance: ranked and grouped rows, n per column, what each run was,
local dates, a 100-column terminal, a glossary, and the worst questions with their trajectories."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from skill3d_eval.cli import main
from skill3d_eval.leaderboard import (
    LeaderboardError,
    RunLoadError,
    build_leaderboard,
    load_run,
    markdown,
    terminal_text,
    write_all,
)
from skill3d_eval.leaderboard.cells import interval, percent
from skill3d_eval.leaderboard.chart import chart_figure
from skill3d_eval.leaderboard.conditions import endpoint_of, experts_of, group_of
from skill3d_eval.leaderboard.dates import local_stamp
from skill3d_eval.leaderboard.glossary import COST_DEFINITIONS, SCORE_COLUMNS
from skill3d_eval.records import ExpertsInfo, RunInfo, ServedExpert
from tests.leaderboard.run_files import Q, RunSpec, counting, write_run

LLM = {"model": "gpt-4o", "llm_backend": "openai"}


def info(policy: str, **settings) -> RunInfo:
    return RunInfo(run_id="x", settings={"policy": policy, **settings})


@pytest.mark.parametrize(
    ("policy", "settings", "libraries", "group"),
    [
        ("chance_random", {}, set(), "baselines"),
        ("program", {}, set(), "ours"),
        ("skill3d", LLM, {"e" * 64}, "ours"),
        ("llm", LLM, {"e" * 64}, "ours"),
        ("skill3d", LLM, set(), "API models"),
        ("tool_agent", LLM, set(), "API models"),  # base_url not recorded: the SDK's default, OpenAI
        ("direct", {**LLM, "base_url": "https://api.example.com/v1"}, set(), "API models"),
        ("direct", {**LLM, "base_url": "http://localhost:8000/v1"}, set(), "open models"),
        ("direct", {**LLM, "base_url": "http://127.0.0.1:8000/v1"}, set(), "open models"),
        ("direct", {**LLM, "base_url": "http://10.2.3.4:8000/v1"}, set(), "open models"),
        ("direct", {**LLM, "base_url": "http://vllm:8000/v1"}, set(), "open models"),
        ("direct", {**LLM, "base_url": "http://gpu-box.internal:8000/v1"}, set(), "open models"),
        ("tool_agent", {"model": "/ckpt/qwen", "llm_backend": "transformers"}, set(), "open models"),
    ],
)
def test_the_group_rule(policy, settings, libraries, group):
    assert group_of(info(policy, **settings), policy, libraries) == group


def test_a_run_without_run_info_is_unrecorded_and_the_endpoint_shows_its_host_only():
    assert group_of(None, None, set()) == "unrecorded"
    secret = info("direct", **LLM, base_url="https://user:sk-secret@llm.example.com:8443/v1?api_key=sk-other")
    assert endpoint_of(secret, "direct") == "llm.example.com:8443"
    assert endpoint_of(info("direct", **LLM), "direct") == "SDK default"
    assert endpoint_of(info("program"), "program") == "-"
    assert endpoint_of(info("direct", model="/m", llm_backend="transformers"), "direct") == "in-process"


def test_expert_backends_name_the_exceptions():
    served = {name: ServedExpert(version="1", backend="oracle") for name in ("depth", "detection", "segmentation")}
    oracle = RunInfo(run_id="x", experts=ExpertsInfo(triton_url="h:1", served=served))
    assert experts_of(oracle) == "oracle"
    real_depth = RunInfo(run_id="x", experts=ExpertsInfo(triton_url="h:1", served={**served, "depth": ServedExpert(version="2", backend="real")}))
    assert experts_of(real_depth) == "oracle; real: depth"
    assert experts_of(RunInfo(run_id="x")) == "-" and experts_of(None) == "?"
    half = {"depth": ServedExpert(version="2", backend="real"), "detection": ServedExpert(version="1", backend="oracle")}
    assert experts_of(RunInfo(run_id="x", experts=ExpertsInfo(triton_url="h:1", served=half))) == "oracle: detection; real: depth"


def vsi_questions(right: int, numeric_answer: str = "9") -> list[Q]:
    """Questions in every VSI-Bench column; the first `right` counting questions right."""
    return [
        *(Q(i, "object_counting", "2", "2" if i < right else numeric_answer, 1.0 if i < right else 0.0) for i in range(5)),
        Q(10, "object_abs_distance", "2.0", "2.0", 1.0),
        Q(11, "object_size_estimation", "50", "40", 0.5),
        Q(12, "room_size_estimation", "20", "20", 1.0),
        Q(13, "object_rel_distance", "A", "B", 0.0),
        Q(14, "object_rel_direction_hard", "A", "A", 1.0),
        Q(15, "route_planning", "B", "B", 1.0),
        Q(16, "obj_appearance_order", "C", "C", 1.0),
    ]


def test_rows_are_ranked_on_the_chosen_column_and_ties_share_a_rank(tmp_path):
    runs = [
        write_run(tmp_path / "chance", RunSpec(counting([0, 0, 0, 1]), policy="chance_random")),
        write_run(tmp_path / "two", RunSpec(counting([1, 1, 0, 0]))),
        write_run(tmp_path / "three", RunSpec(counting([1, 1, 1, 0]))),
        write_run(tmp_path / "three_again", RunSpec(counting([0, 1, 1, 1]))),
    ]
    table = build_leaderboard(runs, reference=runs[1], iterations=200).tables[0]
    assert list(table.runs.index) == ["chance", "three", "three_again", "two"]  # baselines first, then best first
    assert table.runs["rank"].to_dict() == {"chance": 4, "three": 1, "three_again": 1, "two": 3}
    assert table.sort_by == "avg" and table.counts == {"avg": 4, "counting": 4}
    for frame in (table.scores, table.ci_low, table.significance, table.costs):
        assert list(frame.index) == list(table.runs.index)
    with pytest.raises(LeaderboardError, match=r"sort by 'rel dir': no table has that column; the columns are avg, counting"):
        build_leaderboard(runs, sort_by="rel dir", iterations=200)


def test_sort_by_a_task_column_from_the_command_line(tmp_path, capsys):
    low_counting = write_run(tmp_path / "low_counting", RunSpec(vsi_questions(1)))
    misses_two = [Q(15, "route_planning", "B", "A", 0.0), Q(16, "obj_appearance_order", "C", "A", 0.0)]
    high_counting = write_run(tmp_path / "high_counting", RunSpec([*vsi_questions(4)[:10], *misses_two]))
    assert main(["leaderboard", str(low_counting), str(high_counting), "--sort-by", "counting", "--iterations", "200", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "ranked on counting" in printed
    rows = printed.split("\n", 1)[1]  # below the title, which names the reference
    assert re.search(r"1 +high_counting", rows) and rows.index("high_counting") < rows.index("low_counting")
    text = (tmp_path / "out" / "leaderboard.md").read_text()
    assert text.index("| 1 | high_counting |") < text.index("| 2 | low_counting |")
    by_avg = build_leaderboard([low_counting, high_counting], iterations=200).tables[0]
    assert list(by_avg.runs.index) == ["low_counting", "high_counting"]  # avg: route and order outweigh counting


def test_every_rendering_shows_n_per_column_and_the_descriptive_columns(tmp_path):
    served = {"depth": ServedExpert(version="2", backend="real"), "detection": ServedExpert(version="1", backend="oracle"), "orientation": ServedExpert(version="1", backend="oracle")}
    run = write_run(
        tmp_path / "agent",
        RunSpec(vsi_questions(3), policy="skill3d", library="ab" * 32, frames=16, served=served, settings={**LLM, "base_url": "http://localhost:8000/v1"}),
    )
    board = build_leaderboard([run], iterations=200)
    row = board.tables[0].runs.loc["agent"]
    assert (row["group"], row["model"], row["endpoint"], row["experts"], row["frames"], row["library"]) == (
        "ours", "gpt-4o", "localhost:8000", "oracle; real: depth", "16", "ab" * 6,
    )
    paths = write_all(board, tmp_path / "out")
    md, page = paths["markdown"].read_text(), paths["html"].read_text()
    terminal = terminal_text(board, width=100)
    for text in (md, page, terminal):
        for needle in ("counting", "(n=5)", "(n=12)", "(n=1)", "localhost:8000", "oracle; real: depth", "abababababab", "ours"):
            assert needle in text, needle
    assert "| rank | run | avg (n=12) | counting (n=5) | abs dist (n=1) |" in md
    assert "|  | **ours** |" in md


def test_the_terminal_fits_100_columns_and_shows_every_number(tmp_path):
    runs = [
        write_run(tmp_path / name, RunSpec(vsi_questions(right), policy=policy, settings=settings))
        for name, right, policy, settings in [
            ("chance_frequency_on_the_test_split", 1, "chance_frequency", {}),
            ("gpt_4o_tool_agent", 3, "tool_agent", LLM),
            ("program_with_the_evolved_library", 5, "program", {}),
        ]
    ]
    board = build_leaderboard(runs, iterations=200)
    (table,) = board.tables
    assert len(table.scores.columns) == 9  # avg and all eight VSI-Bench columns
    text = terminal_text(board, width=100)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "…" not in text
    for run in table.scores.index:
        assert run in text
        for column in table.scores.columns:
            assert percent(table.scores.loc[run, column]) in text
            assert interval(table.ci_low.loc[run, column], table.ci_high.loc[run, column]) in text
        assert f"{100 * table.significance.loc[run, 'delta']:+.1f}" in text or table.significance.loc[run, "verdict"] == "reference"


def stamped(run_dir, *, timezone_name: str | None, date: str = "20261201_091500"):
    """Restamp a written run as lmms-eval would: file name and `date` in `timezone_name` (or its default)."""
    (results,) = run_dir.rglob("*_results.json")
    data = json.loads(results.read_text())
    data["date"] = date
    if timezone_name is not None:
        data["config"] = {"resolved_cli_args": {"timezone": timezone_name}}
    for path in list(results.parent.iterdir()):
        path.rename(path.with_name(path.name.replace(results.name.removesuffix("_results.json"), date)))
    results.with_name(f"{date}_results.json").write_text(json.dumps(data))
    return run_dir


def test_run_dates_are_read_in_the_zone_they_were_written_and_shown_in_local_time(tmp_path):
    singapore = stamped(write_run(tmp_path / "singapore", RunSpec(counting([1]), trajectories=False)), timezone_name=None)
    assert load_run(singapore).started == datetime(2026, 12, 1, 1, 15, tzinfo=UTC)  # 09:15 UTC+8, lmms-eval's default zone
    utc = stamped(write_run(tmp_path / "utc", RunSpec(counting([1]), trajectories=False)), timezone_name="UTC")
    assert load_run(utc).started == datetime(2026, 12, 1, 9, 15, tzinfo=UTC)
    ours = write_run(tmp_path / "ours", RunSpec(counting([1])))
    run_info = next(ours.rglob("run_info.json"))
    run_info.write_text(json.dumps({**json.loads(run_info.read_text()), "started_at": "2026-12-01T03:00:00-05:00"}))
    assert load_run(ours).started == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # our own record wins

    moment = datetime(2026, 12, 1, 1, 20, tzinfo=UTC)
    local = moment.astimezone()
    shown = local_stamp(moment)
    assert shown.startswith(f"{local:%Y-%m-%d %H:%M} UTC") and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC[+-]\d\d:\d\d", shown)
    assert local_stamp(load_run(utc).started) in markdown(build_leaderboard([utc], iterations=200))

    unknown = stamped(write_run(tmp_path / "unknown", RunSpec(counting([1]), trajectories=False)), timezone_name="Mars/Olympus")
    with pytest.raises(RunLoadError, match=r"_results.json: unknown timezone 'Mars/Olympus'"):
        load_run(unknown)


def test_the_worst_questions_come_with_their_answers_and_trajectories(tmp_path):
    questions = [
        Q(0, "object_counting", "4", "5", 0.7),
        Q(1, "object_counting", "4", "12", 0.0),
        Q(2, "object_counting", "4", "none", 0.0),
        Q(3, "object_counting", "4", "4", 1.0),
        Q(4, "object_counting", "4", "9", 0.0),
        Q(10, "object_rel_distance", "A", "B", 0.0),
    ]
    run = write_run(tmp_path / "agent", RunSpec(questions))
    board = build_leaderboard([run], iterations=200)
    worst = board.tables[0].worst
    counting_worst = [w for w in worst if w.column == "counting"]
    # lowest score first; among the zeros no number at all, then the largest relative error (12 vs 4: 200%, 9: 125%)
    assert [w.answer for w in counting_worst] == ["none", "12", "9"]
    assert [w.relative_error for w in counting_worst][1:] == [pytest.approx(2.0), pytest.approx(1.25)]
    assert [(w.answer, w.target) for w in worst if w.column == "rel dist"] == [("B", "A")]
    first = counting_worst[0]
    assert first.question == "question 2" and first.sample_id == "spatial_synth/test/2"
    assert first.trajectory_file == next(run.rglob("trajectories.jsonl"))
    assert first.excerpt == ('locate_objects(category="chair") → {"category":"none"}', "answer 'none' (answer)")

    paths = write_all(board, tmp_path / "out")
    md, page = paths["markdown"].read_text(), paths["html"].read_text()
    assert "### spatial_synth: worst questions per column" in md and "#### counting (n=5)" in md
    assert '| agent | question 1 | 12 | 4 | 0.0 | 200% |' in md
    assert '<details data-column="counting"><summary>counting (n=5): 3 questions</summary>' in page
    assert 'href="../agent/trajectories/program-abc/trajectories.jsonl"' in page  # relative to the page: the pair can move together
    assert "locate_objects(category=&quot;chair&quot;)" in page


def test_the_glossary_defines_every_column_and_the_headers_carry_it(tmp_path):
    run = write_run(tmp_path / "agent", RunSpec(vsi_questions(3)))
    board = build_leaderboard([run], iterations=200)
    paths = write_all(board, tmp_path / "out")
    md, page = paths["markdown"].read_text(), paths["html"].read_text()
    glossary = md[md.index("## Glossary"):]
    for column, definition in SCORE_COLUMNS.items():
        assert f"- **{column}**: {definition}" in glossary
        assert f'data-key="{column}" title="{definition}' in page.replace("&#x27;", "'")
    for definition in COST_DEFINITIONS.values():
        assert definition in glossary
    assert "mean relative accuracy (MRA)" in glossary and "95% bootstrap confidence interval" in glossary
    assert '<h2 id="glossary">Glossary</h2>' in page


def test_the_chart_legend_stays_inside_the_image_with_many_long_run_names(tmp_path):
    runs = [write_run(tmp_path / f"a_rather_long_run_name_number_{i}", RunSpec(vsi_questions(i % 5))) for i in range(9)]
    figure = chart_figure(build_leaderboard(runs, iterations=200))
    figure.draw_without_rendering()
    bounds = figure.bbox
    for axis in figure.axes:
        box = axis.get_legend().get_window_extent()
        assert box.x0 >= bounds.x0 and box.x1 <= bounds.x1 and box.y0 >= bounds.y0 and box.y1 <= bounds.y1
        assert len(axis.get_legend().get_texts()) == 9
