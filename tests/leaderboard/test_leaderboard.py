"""The leaderboard on run directories with known answers: scores, intervals, significance, mismatches."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from skill3d_eval.cli import main
from skill3d_eval.leaderboard import LeaderboardError, RunLoadError, build_leaderboard, load_run, markdown, terminal_text, write_all
from skill3d_eval.records import AnswerSource
from tests.leaderboard.run_files import Q, RunSpec, counting, write_run


def mixed_questions() -> list[Q]:
    return [
        *counting([1, 0, 1, 1]),
        Q(10, "object_abs_distance", "2.0", "1.5", 0.5),
        Q(11, "object_abs_distance", "3.0", "2.8", 0.7),
        Q(20, "object_rel_direction_easy", "A", "A", 1.0),
        Q(21, "object_rel_direction_easy", "B", "B", 1.0),
        Q(22, "object_rel_direction_medium", "C", "A", 0.0),
        Q(23, "object_rel_direction_hard", "A", "A", 1.0),
        Q(24, "object_rel_direction_hard", "D", "B", 0.0),
        Q(30, "route_planning", "B", "B", 1.0),
    ]


def test_scores_follow_the_vsi_bench_layout_and_aggregation(tmp_path):
    run = write_run(tmp_path / "agent", RunSpec(mixed_questions()))
    board = build_leaderboard([run], iterations=200)
    (table,) = board.tables
    # leaderboard order, only the columns with questions
    assert list(table.scores.columns) == ["avg", "counting", "abs dist", "rel dir", "route plan"]
    row = table.scores.loc["agent"]
    assert row["counting"] == pytest.approx(0.75)
    assert row["abs dist"] == pytest.approx(0.6)
    assert row["rel dir"] == pytest.approx((1.0 + 0.0 + 0.5) / 3)  # mean of the levels' means, not of questions
    assert row["avg"] == pytest.approx((0.75 + 0.6 + 0.5 + 1.0) / 4)
    assert table.questions == 12 and table.reference == "agent"
    assert board.notes == []  # the samples reproduce lmms-eval's aggregates


def test_confidence_interval_matches_a_direct_computation(tmp_path):
    rng = np.random.default_rng(3)
    scores = (rng.random(400) < 0.6).astype(float)
    run = write_run(tmp_path / "agent", RunSpec(counting(list(scores))))
    table = build_leaderboard([run], iterations=4000, seed=1).tables[0]
    p, n = scores.mean(), len(scores)
    assert table.scores.loc["agent", "avg"] == pytest.approx(p)
    # the normal approximation of a proportion's 95% interval ...
    half = 1.96 * math.sqrt(p * (1 - p) / n)
    assert table.ci_low.loc["agent", "avg"] == pytest.approx(p - half, abs=0.01)
    assert table.ci_high.loc["agent", "avg"] == pytest.approx(p + half, abs=0.01)
    # ... and a plain percentile bootstrap written out here
    direct = np.random.default_rng(9).choice(scores, size=(4000, n)).mean(axis=1)
    assert table.ci_low.loc["agent", "counting"] == pytest.approx(np.percentile(direct, 2.5), abs=0.01)
    assert table.ci_high.loc["agent", "counting"] == pytest.approx(np.percentile(direct, 97.5), abs=0.01)


def paired_runs(tmp_path, flips: int, *, worse: bool = False):
    base = [1.0] * 100 + [0.0] * 100
    other = list(base)
    for i in range(100, 100 + flips):  # `flips` questions the reference misses, the other gets right
        other[i] = 1.0
    if worse:
        base, other = other, base
    reference = write_run(tmp_path / "reference", RunSpec(counting(base)))
    candidate = write_run(tmp_path / "candidate", RunSpec(counting(other)))
    return build_leaderboard([reference, candidate], reference="reference", iterations=2000).tables[0]


def test_a_clearly_better_run_is_significantly_better(tmp_path):
    table = paired_runs(tmp_path, flips=30)
    row = table.significance.loc["candidate"]
    assert row["delta"] == pytest.approx(0.15)
    assert row["p_value"] < 0.01 and row["verdict"] == "better"
    assert 0.09 < row["ci_low"] < 0.15 < row["ci_high"] < 0.21
    assert table.significance.loc["reference", "verdict"] == "reference"


def test_a_clearly_worse_run_is_significantly_worse(tmp_path):
    table = paired_runs(tmp_path, flips=30, worse=True)
    assert table.significance.loc["candidate", "delta"] == pytest.approx(-0.15)
    assert table.significance.loc["candidate", "verdict"] == "worse"


def test_a_one_question_difference_is_not_significant(tmp_path):
    table = paired_runs(tmp_path, flips=1)
    row = table.significance.loc["candidate"]
    assert row["delta"] == pytest.approx(0.005) and row["p_value"] > 0.05 and row["verdict"] == "n.s."


def test_identical_runs_have_p_value_one(tmp_path):
    table = paired_runs(tmp_path, flips=0)
    assert table.significance.loc["candidate", "p_value"] == 1.0


def test_mismatched_question_sets_and_splits_are_reported_not_mixed(tmp_path):
    reference = write_run(tmp_path / "reference", RunSpec(counting([1, 0, 1, 1]), frames=32))
    fewer = write_run(tmp_path / "fewer", RunSpec(counting([1, 1, 1]), frames=32))
    other_targets = write_run(tmp_path / "other_targets", RunSpec([Q(0, "object_counting", "3", "3", 1.0), *counting([0, 1, 1], start=1)], frames=32))
    other_split = write_run(tmp_path / "other_split", RunSpec(counting([1, 0, 1, 1]), split="val", frames=32))
    comparable = write_run(tmp_path / "comparable", RunSpec(counting([0, 0, 1, 1]), frames=32))
    board = build_leaderboard([reference, fewer, other_targets, other_split, comparable], iterations=200)
    (table,) = board.tables
    assert list(table.scores.index) == ["reference", "comparable"]
    found = {(m.run, m.field) for m in board.mismatches}
    assert found == {("fewer", "questions"), ("other_targets", "questions"), ("other_split", "split")}
    assert all(m.excludes for m in board.mismatches) and board.flags == []
    fewer_detail = next(m.detail for m in board.mismatches if m.run == "fewer")
    assert "3 questions vs 4" in fewer_detail and "1 only in reference" in fewer_detail
    assert "'val' vs 'test'" in next(m.detail for m in board.mismatches if m.run == "other_split")
    assert "other_split is not comparable with reference: split: 'val' vs 'test'" in markdown(board)


LLM = {"model": "gpt-4o", "llm_backend": "openai", "temperature": 0.0, "max_turns": 6, "max_tokens": 1024}
SERVED = {"depth": "1|aaaa", "detection": "1|bbbb"}


def test_differences_in_how_a_run_was_made_are_flagged_on_its_ranked_row(tmp_path):
    """The conditions a leaderboard exists to compare are ranked beside the reference, each named."""
    scores = [1, 0, 1, 1]
    spec = {"frames": 32, "policy": "skill3d", "library": "e" * 64, "settings": LLM, "experts": SERVED}
    runs = {
        "reference": RunSpec(counting(scores), **spec),
        "same": RunSpec(counting(scores), **spec),
        "other_model": RunSpec(counting(scores), **{**spec, "settings": {**LLM, "model": "qwen2.5-vl-7b", "temperature": 0.7}}),
        "other_turns": RunSpec(counting(scores), **{**spec, "settings": {**LLM, "max_turns": 3}}),
        "other_depth": RunSpec(counting(scores), **{**spec, "experts": {**SERVED, "depth": "1|noisy"}}),
        "other_noise": RunSpec(counting(scores), **{**spec, "settings": {**LLM, "expert_parameters": {"depth_scale_error": "0.1"}}}),
        "other_frames": RunSpec(counting(scores), **{**spec, "frames": 16}),
        "other_library": RunSpec(counting(scores), **{**spec, "library": "f" * 64}),
        "tool_agent": RunSpec(counting(scores), **{**spec, "policy": "tool_agent", "library": None}),
    }
    board = build_leaderboard([write_run(tmp_path / name, spec) for name, spec in runs.items()], iterations=200)
    (table,) = board.tables
    # all score the same: the API model's group comes first, ties keep the command line's order
    assert list(table.scores.index) == ["tool_agent", *(name for name in runs if name != "tool_agent")] and board.mismatches == []
    assert set(table.runs["rank"]) == {1}
    flagged = {(m.run, m.field): m.detail for m in board.flags}
    assert set(flagged) == {
        ("other_model", "llm"), ("other_turns", "llm"), ("other_depth", "experts"), ("other_noise", "experts"),
        ("other_frames", "frames"), ("other_library", "library"), ("tool_agent", "policy"), ("tool_agent", "library"),
    }
    assert flagged[("other_model", "llm")] == "model 'qwen2.5-vl-7b' vs 'gpt-4o'; temperature 0.7 vs 0.0"
    assert flagged[("other_turns", "llm")] == "max_turns 3 vs 6"
    assert flagged[("other_depth", "experts")] == "depth '1|noisy' vs '1|aaaa'"
    assert flagged[("other_noise", "experts")] == "expert_parameters {'depth_scale_error': '0.1'} vs None"
    assert flagged[("other_frames", "frames")] == "16 vs 32"
    assert flagged[("other_library", "library")] == f"{'f' * 12} vs {'e' * 12}"
    assert table.runs.loc["tool_agent", "differs"] == "policy, library" and table.runs.loc["same", "differs"] == ""
    text = markdown(board)
    assert "### Differences from the reference" in text
    assert "spatial_synth: other_turns differs from reference: llm: max_turns 3 vs 6" in text
    for rendered in (text, terminal_text(board), write_all(board, tmp_path / "files")["html"].read_text()):
        assert "other_model" in rendered and "llm" in rendered


def test_llm_settings_are_not_compared_for_policies_without_an_llm_and_unrecorded_runs_are_flagged(tmp_path):
    program = write_run(tmp_path / "program", RunSpec(counting([1, 0]), settings=LLM))
    chance = write_run(tmp_path / "chance", RunSpec(counting([1, 1]), policy="chance_frequency", settings={**LLM, "model": "unused"}))
    plain = write_run(tmp_path / "plain", RunSpec(counting([1, 1]), trajectories=False))
    board = build_leaderboard([program, chance, plain], iterations=200)
    flagged = {(m.run, m.field): m.detail for m in board.flags}
    assert set(flagged) == {("chance", "policy"), ("plain", "settings")}
    assert flagged[("plain", "settings")] == "no run_info.json for plain: LLM, experts and settings cannot be compared"


def test_a_chance_baseline_row_says_which_split_its_answers_came_from(tmp_path):
    reference = write_run(tmp_path / "agent", RunSpec(counting([1, 0, 1, 1])))
    test_split = RunSpec(counting([1, 1, 0, 0]), policy="chance_frequency", answer_sources={"spatial_synth": AnswerSource(split="test", evaluated=True)})
    train_split = RunSpec(counting([1, 1, 1, 0]), policy="chance_random", answer_sources={"spatial_synth": AnswerSource(split="train", evaluated=False)})
    board = build_leaderboard([reference, write_run(tmp_path / "freq", test_split), write_run(tmp_path / "random", train_split)], iterations=200)
    policies = board.tables[0].runs["policy"].to_dict()
    assert policies == {"agent": "program", "freq": "chance_frequency (test-split distribution)", "random": "chance_random (train-split distribution)"}
    assert "chance_frequency (test-split distribution)" in markdown(board)


def test_a_run_mixing_skill_libraries_is_not_ranked(tmp_path):
    reference = write_run(tmp_path / "reference", RunSpec(counting([1, 0, 1, 1])))
    mixed = write_run(tmp_path / "mixed", RunSpec(counting([1, 1, 1, 1]), trajectory_libraries=["a" * 64, "a" * 64, "b" * 64, "b" * 64]))
    board = build_leaderboard([reference, mixed], iterations=200)
    assert list(board.tables[0].scores.index) == ["reference"]
    assert [(m.run, m.field) for m in board.mismatches] == [("mixed", "run")]
    assert any("mixes 2 skill libraries" in note for note in board.notes)


def test_disagreement_with_lmms_eval_aggregates_is_reported(tmp_path):
    run = write_run(tmp_path / "agent", RunSpec(counting([1, 0]), reported={"spatial_synth_overall": 0.9, "object_counting_mra": 0.5}))
    board = build_leaderboard([run], iterations=200)
    assert board.notes == ["agent: spatial_synth spatial_synth_overall: lmms-eval reports 0.900000, the per-question samples give 0.500000"]


def test_cost_columns_come_from_the_trajectories(tmp_path):
    with_tools = write_run(tmp_path / "agent", RunSpec(counting([1, 0, 1, 1]), tool_calls_per_question=2))
    no_trajectories = write_run(tmp_path / "plain", RunSpec(counting([1, 1, 1, 1]), trajectories=False))
    table = build_leaderboard([with_tools, no_trajectories], iterations=200).tables[0]
    costs = table.costs.loc["agent"]
    assert costs["tool_calls_per_question"] == 2 and costs["turns_per_question"] == 2
    assert costs["prompt_tokens_per_question"] == 200 and costs["completion_tokens_per_question"] == 20
    assert costs["expert_seconds_per_question"] == pytest.approx(0.5) and costs["seconds_per_question"] == 1.0
    # observations return the answered count: right answers "2" and wrong ones "9" are both grounded
    assert costs["effective_tool_usage"] == 1.0 and costs["invalid_tool_call_rate"] == 0.0
    assert costs["cache_hit_rate"] is None
    assert table.costs.loc["plain"].isna().all()
    assert "n/a" in markdown(build_leaderboard([no_trajectories], iterations=200))


def test_reference_is_chosen_by_name_or_directory_and_must_exist(tmp_path):
    a = write_run(tmp_path / "a", RunSpec(counting([1, 0])))
    b = write_run(tmp_path / "b", RunSpec(counting([1, 1])))
    assert build_leaderboard([a, b], reference="b", iterations=200).tables[0].reference == "b"
    assert build_leaderboard([a, b], reference=b, iterations=200).tables[0].reference == "b"
    with pytest.raises(LeaderboardError, match=r"reference 'c' is none of the runs: a, b"):
        build_leaderboard([a, b], reference="c")


def test_unreadable_runs_are_named(tmp_path):
    with pytest.raises(RunLoadError, match="no lmms-eval results"):
        load_run(tmp_path)
    run = write_run(tmp_path / "agent", RunSpec(counting([1, 0])))
    samples = next(run.rglob("*_samples_spatial_synth.jsonl"))
    samples.write_text(samples.read_text() + '{"doc_id": 5, "target": "1"}\n')
    with pytest.raises(RunLoadError, match=rf"{samples}:3: no per-question score"):
        load_run(run)
    samples.unlink()
    with pytest.raises(RunLoadError, match=r"no per-question samples .*--log_samples"):
        load_run(run)


def test_trajectory_answers_that_disagree_with_lmms_eval_are_reported(tmp_path):
    run = write_run(tmp_path / "agent", RunSpec(counting([1, 0])))
    samples = next(run.rglob("*_samples_spatial_synth.jsonl"))
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    lines[1]["filtered_resps"] = "7"
    samples.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert load_run(run).issues == ["spatial_synth: 1 trajectory answers differ from lmms-eval's (doc_ids [1])"]


def test_command_line_prints_the_table_and_writes_markdown_html_png(tmp_path, capsys):
    a = write_run(tmp_path / "seed_skills", RunSpec(counting([1, 0, 1, 1])))
    b = write_run(tmp_path / "evolved", RunSpec(counting([1, 1, 1, 1])))
    assert main(["leaderboard", str(a), str(b), "--reference", "seed_skills", "--out", str(tmp_path / "out"), "--iterations", "200"]) == 0
    printed = capsys.readouterr().out
    assert "seed_skills" in printed and "evolved" in printed and "75.0" in printed and "100.0" in printed
    assert (tmp_path / "out" / "leaderboard.md").read_text().count("|") > 10
    assert (tmp_path / "out" / "leaderboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'data-run="evolved" data-column="avg" data-value="1.000000"' in (tmp_path / "out" / "leaderboard.html").read_text()
    with pytest.raises(SystemExit, match="leaderboard: .*no lmms-eval results"):
        main(["leaderboard", str(tmp_path / "out")])


def test_writers_and_terminal_show_the_same_numbers(tmp_path):
    run = write_run(tmp_path / "agent", RunSpec(mixed_questions()))
    board = build_leaderboard([run], iterations=200)
    paths = write_all(board, tmp_path / "files")
    avg = f"{100 * board.tables[0].scores.loc['agent', 'avg']:.1f}"
    assert avg == "71.2"
    for text in (terminal_text(board), paths["markdown"].read_text(), paths["html"].read_text()):
        assert avg in text and "rel dir" in text and "route plan" in text
    from matplotlib.image import imread

    image = imread(paths["png"])
    assert image.shape[0] > 200 and image.shape[1] > 400
