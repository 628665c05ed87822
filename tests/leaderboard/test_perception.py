"""The perception split on run directories whose per-question effects are chosen: the drop each
swapped expert causes, its interval, and which runs can (not) be attributed to one expert."""

from __future__ import annotations

import hashlib
import re

import pytest

from skill3d_eval.cli import main
from skill3d_eval.evaluate import run_lmms_eval
from skill3d_eval.experts.client import EXPERT_MODELS
from skill3d_eval.leaderboard import build_leaderboard, load_run
from skill3d_eval.leaderboard.perception import ExpertCondition, checkpoint_name, perception_split_of
from skill3d_eval.leaderboard.perception_views import html, markdown, terminal_text
from skill3d_eval.records import ServedExpert
from tests.leaderboard.run_files import Q, RunSpec, counting, write_run

LLM = {"model": "qwen", "llm_backend": "openai", "temperature": 0.0, "max_turns": 6, "max_tokens": 512}
DEPTH_CHECKPOINT = "/hub/models--depth-anything--Depth-Anything-V2-Metric-Indoor-Small-hf/snapshots/0a1b2c"


def oracle_experts(**parameters: str) -> dict[str, ServedExpert]:
    """All six models on the oracle backend, every launch parameter set on every model (as the launcher does)."""
    return {model: ServedExpert(version="1", backend="oracle", parameters={"oracle_root": "/data/oracle", **parameters}) for model in EXPERT_MODELS}


def real(version: str, checkpoint: str, **parameters: str) -> ServedExpert:
    return ServedExpert(version=version, backend="real", checkpoint=checkpoint, parameters={"oracle_root": "/data/oracle", **parameters})


def spec(questions: list[Q], served: dict[str, ServedExpert], **changes) -> RunSpec:
    """A skill3d run whose expert digests follow its served experts, as a real run's do."""
    digests = {model: f"{s.version}|{hashlib.sha256(s.model_dump_json().encode()).hexdigest()[:16]}" for model, s in served.items()}
    return RunSpec(questions, **{"policy": "skill3d", "library": "e" * 64, "settings": dict(LLM), "experts": digests, "served": served, **changes})


def scores_with(base: list[float], flips: dict[int, float]) -> list[float]:
    changed = list(base)
    for index, value in flips.items():
        changed[index] = value
    return changed


REFERENCE = [1.0] * 90 + [0.0] * 10


@pytest.fixture
def runs(tmp_path):
    """A reference, one-expert swaps with a known effect, and runs that must not be attributed."""
    worse_depth = scores_with(REFERENCE, {i: 0.0 for i in range(20)})  # 20 questions the reference got right
    balanced = scores_with(REFERENCE, {**{i: 0.0 for i in range(5)}, **{i: 1.0 for i in range(90, 95)}})
    real_depth = {**oracle_experts(), "depth": real("2", DEPTH_CHECKPOINT, fov_deg="60")}
    made = {
        "oracle": spec(counting(REFERENCE), oracle_experts()),
        "oracle_repeat": spec(counting(REFERENCE), oracle_experts(noise_seed="5")),  # a seed without noise changes nothing
        "real_depth": spec(counting(worse_depth), real_depth),
        # box jitter is set on every model, but only detection reads it
        "jittered_boxes": spec(counting(balanced), oracle_experts(box_jitter_px="4", noise_seed="3")),
        "real_depth_and_detection": spec(counting(worse_depth), {**real_depth, "detection": real("2", "/ckpt/grounding-dino-tiny")}),
        # depth_scale_error is read by depth and reconstruction: two experts
        "scaled_depth": spec(counting(worse_depth), oracle_experts(depth_scale_error="0.2")),
        "other_questions": spec(counting(worse_depth[:99]), real_depth),
        "other_llm": spec(counting(worse_depth), real_depth, settings={**LLM, "model": "llama"}),
        "digests_only": RunSpec(counting(worse_depth), policy="skill3d", library="e" * 64, settings=dict(LLM), experts={"depth": "2|ffff"}),
    }
    return {label: write_run(tmp_path / label, run) for label, run in made.items()}


def test_one_expert_swaps_are_measured_and_the_rest_explained(runs):
    split = perception_split_of(list(runs.values()), iterations=4000, seed=2)
    (group,) = split.groups
    assert group.reference == "oracle" and group.questions == 100
    assert set(group.reference_experts) == set(EXPERT_MODELS) and set(group.reference_experts.values()) == {"oracle v1"}
    swaps = {swap.run: swap for swap in group.swaps}
    assert set(swaps) == {"real_depth", "jittered_boxes"}

    depth = swaps["real_depth"]
    assert depth.expert == "depth" and depth.reference_condition == "oracle v1"
    assert depth.condition == "real v2, checkpoint depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf, fov_deg=60"
    avg = depth.scores.loc["avg"]
    assert avg["reference"] == pytest.approx(0.9) and avg["swapped"] == pytest.approx(0.7)
    assert avg["drop"] == pytest.approx(0.20)
    # 20 discordant questions of 100: sd of the paired mean ≈ sqrt(0.2 · 0.8 / 100) = 0.04
    assert 0.10 < avg["ci_low"] < 0.20 < avg["ci_high"] < 0.30
    assert avg["p_value"] < 0.01 and depth.verdict == "drop"
    assert list(depth.scores.index) == ["avg", "counting"]

    boxes = swaps["jittered_boxes"]
    assert boxes.expert == "detection" and boxes.condition == "oracle v1, noise box_jitter_px=4 seed=3"
    avg = boxes.scores.loc["avg"]
    assert avg["drop"] == pytest.approx(0.0) and avg["ci_low"] < 0 < avg["ci_high"]
    assert avg["p_value"] > 0.5 and boxes.verdict == "n.s."

    unattributed = {item.run: item.reason for item in group.unattributed}
    assert unattributed["real_depth_and_detection"] == (
        "2 experts differ (depth: oracle v1 → real v2, checkpoint depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf, fov_deg=60; "
        "detection: oracle v1 → real v2, checkpoint grounding-dino-tiny)"
    )
    assert unattributed["scaled_depth"].startswith("2 experts differ (depth: oracle v1 → oracle v1, noise depth_scale_error=0.2 seed=0; reconstruction:")
    assert unattributed["oracle_repeat"].startswith("the same experts as the reference")
    assert "experts.served" in unattributed["digests_only"]

    ungrouped = {item.run: item.reason for item in split.ungrouped["spatial_synth"]}
    assert set(ungrouped) == {"other_questions", "other_llm"}
    assert "questions: 99 questions vs 100" in ungrouped["other_questions"]
    assert "llm: model 'llama' vs 'qwen'" in ungrouped["other_llm"]


def test_the_drop_is_reported_per_question_type(tmp_path):
    """Depth matters for distances only: the counting column shows no drop, abs dist a clear one."""
    reference = [*counting([1.0] * 60), *[Q(100 + i, "object_abs_distance", "2.0", "2.0", 1.0) for i in range(60)]]
    swapped = [*counting([1.0] * 60), *[Q(100 + i, "object_abs_distance", "2.0", "3.0" if i < 30 else "2.0", 0.5 if i < 30 else 1.0) for i in range(60)]]
    run_dirs = [
        write_run(tmp_path / "oracle", spec(reference, oracle_experts())),
        write_run(tmp_path / "real_depth", spec(swapped, {**oracle_experts(), "depth": real("2", "/ckpt/depth-small")})),
    ]
    (swap,) = perception_split_of(run_dirs, iterations=2000).groups[0].swaps
    assert list(swap.scores.index) == ["avg", "counting", "abs dist"]
    assert swap.scores.loc["counting", "drop"] == 0 and swap.scores.loc["counting", "p_value"] == 1
    assert swap.scores.loc["abs dist", "drop"] == pytest.approx(0.25) and swap.scores.loc["abs dist", "ci_low"] > 0.1
    assert swap.scores.loc["avg", "drop"] == pytest.approx(0.125)  # VSI-Bench's average: the mean of the columns


def test_without_an_oracle_reference_nothing_is_grouped(tmp_path):
    run_dirs = [
        write_run(tmp_path / "real_depth", spec(counting(REFERENCE), {**oracle_experts(), "depth": real("2", "/ckpt/depth-small")})),
        write_run(tmp_path / "noisy", spec(counting(REFERENCE), oracle_experts(miss_rate="0.1"))),
    ]
    split = perception_split_of(run_dirs, iterations=200)
    assert split.groups == []
    assert [item.run for item in split.ungrouped["spatial_synth"]] == ["real_depth", "noisy"]
    assert all("no run of this task has all experts oracle" in item.reason for item in split.ungrouped["spatial_synth"])


def test_conditions_keep_only_what_changes_a_models_answers():
    launched = {"oracle_root": "/a", "noise_seed": "9", "box_jitter_px": "0", "torch_threads": "4", "depth_scale_error": "0.1"}
    assert ExpertCondition.of("detection", ServedExpert(version="1", backend="oracle", parameters=launched)).exact_oracle
    depth = ExpertCondition.of("depth", ServedExpert(version="1", backend="oracle", parameters=launched))
    assert not depth.exact_oracle and depth.noise == (("depth_scale_error", "0.1"), ("seed", "9"))
    elsewhere = ExpertCondition.of("detection", ServedExpert(version="1", backend="oracle", parameters={**launched, "oracle_root": "/b", "torch_threads": "1"}))
    assert elsewhere == ExpertCondition.of("detection", ServedExpert(version="1", backend="oracle", parameters=launched))
    # a locally given checkpoint names the model better than the repository's relative 'checkpoint'
    exported = ServedExpert.from_config("3", {"backend": "real", "checkpoint": "checkpoint", "fov_deg": "70"})
    assert exported.backend == "real" and exported.checkpoint == "checkpoint" and exported.parameters == {"fov_deg": "70"}
    assert ExpertCondition.of("depth", exported).label() == "real v3, checkpoint checkpoint, fov_deg=70"
    assert ExpertCondition.of("depth", exported, "/models/depth-metric-small").label() == "real v3, checkpoint depth-metric-small, fov_deg=70"
    assert checkpoint_name("/root/.cache/huggingface/hub/models--IDEA-Research--grounding-dino-tiny/snapshots/a1") == "IDEA-Research/grounding-dino-tiny"


def test_terminal_markdown_html_and_cli_show_the_same_drop(runs, tmp_path, capsys):
    split = perception_split_of([runs["oracle"], runs["real_depth"], runs["real_depth_and_detection"]], iterations=1000)
    swap = split.groups[0].swaps[0]
    avg = swap.scores.loc["avg"]
    cell = f"90.0 → 70.0 drop +20.0 [{100 * avg['ci_low']:.1f}, {100 * avg['ci_high']:.1f}]*"
    text = markdown(split)
    assert cell in text and re.search(r"\| real_depth +\| depth +\| real v2, checkpoint depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf", text)
    assert "- real_depth_and_detection: 2 experts differ" in text
    terminal = terminal_text(split)
    assert "90.0 → 70.0" in terminal and "+20.0" in terminal and "not attributable: real_depth_and_detection" in terminal
    assert "[paired bootstrap 95% CI over the same questions]" in terminal
    page = html(split)
    (found,) = re.findall(r'data-expert="depth" data-column="avg" data-reference="([\d.]+)" data-swapped="([\d.]+)" data-drop="([\d.]+)"', page)
    assert [float(v) for v in found] == pytest.approx([0.9, 0.7, 0.2])

    out = tmp_path / "out"
    dirs = [str(runs[label]) for label in ("oracle", "real_depth", "jittered_boxes")]
    assert main(["perception", *dirs, "--out", str(out), "--iterations", "500"]) == 0
    printed = capsys.readouterr().out
    assert "real_depth" in printed and "jittered_boxes" in printed and "p<0.001, drop" in printed
    assert "drop +20.0" in (out / "perception.md").read_text() and (out / "perception.html").read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(SystemExit, match="--iterations 10"):
        main(["perception", *dirs, "--iterations", "10"])


@pytest.mark.integration
def test_real_runs_record_their_experts_and_a_noisy_detector_is_attributed(synth_triton, tmp_path):
    """Two real program runs through lmms-eval: the session's oracle Triton, and a local server
    started with a detection miss rate (set, as always, on every model)."""
    oracle, misses = tmp_path / "oracle", tmp_path / "detection_misses"
    run_lmms_eval(["spatial_synth"], {"policy": "program", "triton_url": synth_triton.grpc_url, "output_dir": oracle / "trajectories", "concurrency": 2}, oracle / "lmms_eval", limit=8)
    noisy = {"policy": "program", "expert_parameters": '{"miss_rate":"0.5"}', "output_dir": misses / "trajectories", "concurrency": 2}
    run_lmms_eval(["spatial_synth"], noisy, misses / "lmms_eval", limit=8)

    served = load_run(misses).run_info.experts.served
    assert set(served) == set(EXPERT_MODELS) and {s.backend for s in served.values()} == {"oracle"}
    assert all(s.parameters["miss_rate"] == "0.5" and s.version == "1" for s in served.values())
    split = perception_split_of([oracle, misses], iterations=500)
    (group,) = split.groups
    assert group.reference == "oracle"
    assert group.reference_experts == {**{model: "oracle v1" for model in EXPERT_MODELS}, "super_resolution": "oracle v1, scale=2"}
    (swap,) = group.swaps
    assert swap.expert == "detection" and swap.condition == "oracle v1, noise miss_rate=0.5 seed=0"
    board = build_leaderboard([oracle, misses], iterations=200).tables[0]
    avg = swap.scores.loc["avg"]
    assert avg["reference"] == pytest.approx(board.scores.loc["oracle", "avg"]) and avg["swapped"] == pytest.approx(board.scores.loc["detection_misses", "avg"])
    assert avg["drop"] == pytest.approx(avg["reference"] - avg["swapped"]) and avg["ci_low"] <= avg["drop"] <= avg["ci_high"]
