"""The stock lmms-eval CLI runs `skill3d` with the program policy on spatial_synth."""

from __future__ import annotations

import json

import pytest

from skill3d_eval.trajectory_log import read_trajectories
from skill3d_eval.evaluate import run_lmms_eval

pytestmark = pytest.mark.integration


def test_program_policy_through_the_cli_on_a_running_triton(synth_triton, tmp_path):
    output = tmp_path / "out"
    results_file = run_lmms_eval(
        ["spatial_synth"],
        {"policy": "program", "triton_url": synth_triton.grpc_url, "output_dir": tmp_path / "runs", "run_name": "cli"},
        output,
        limit=8,
    )
    results = json.loads(results_file.read_text())["results"]["spatial_synth"]
    assert results["object_counting_mra,none"] >= 0.95
    assert results["object_abs_distance_mra,none"] >= 0.95
    assert results["spatial_synth_overall,none"] >= 0.95

    trajectories = read_trajectories(tmp_path / "runs" / "cli" / "trajectories.jsonl")
    assert len(trajectories) == 8 and len({t.doc_id for t in trajectories}) == 8
    for trajectory in trajectories:
        assert trajectory.error is None and trajectory.answer
        (turn,) = trajectory.turns
        (observation,) = turn.observations
        assert observation.ok and observation.seconds > 0
        assert turn.tool_calls[0].name in {"locate_objects", "measure_distance"}
    run_info = json.loads((tmp_path / "runs" / "cli" / "run_info.json").read_text())
    assert run_info["settings"]["policy"] == "program" and run_info["versions"]["lmms_eval"] == "0.7.3"

    logged = list(output.rglob("*_samples_spatial_synth.jsonl"))
    assert logged, "lmms-eval's --log_samples file is missing"


def test_model_starts_and_stops_its_own_triton_when_no_url_is_given(synth_root, tmp_path):
    runs = tmp_path / "runs"
    results_file = run_lmms_eval(
        ["spatial_synth"],
        {"policy": "program", "output_dir": runs, "run_name": "local", "oracle_root": synth_root / "oracle"},
        tmp_path / "out",
        limit=2,
    )
    assert json.loads(results_file.read_text())["results"]["spatial_synth"]["spatial_synth_overall,none"] >= 0.95
    run_info = json.loads((runs / "local" / "run_info.json").read_text())
    assert run_info["experts"]["started_locally"] is True
    log = (runs / "local" / "triton.log").read_text()
    assert "Started GRPCInferenceService" in log


def test_expert_cache_is_shared_across_runs_and_recorded(synth_triton, tmp_path):
    def run(name):
        args = {"policy": "program", "triton_url": synth_triton.grpc_url, "output_dir": tmp_path / "runs", "run_name": name, "expert_cache_dir": tmp_path / "cache"}
        run_lmms_eval(["spatial_synth"], args, tmp_path / name, limit=3)
        return json.loads((tmp_path / "runs" / name / "run_info.json").read_text())["expert_cache"]

    first, second = run("cold"), run("warm")
    assert first["hits"] < first["misses"] and first["misses"] > 0
    assert second == {"hits": first["hits"] + first["misses"], "misses": 0}
