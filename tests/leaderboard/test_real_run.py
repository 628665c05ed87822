"""The leaderboard reads what the stock lmms-eval CLI and our model really wrote for a run."""

from __future__ import annotations

import pytest

from skill3d_eval.evaluate import run_lmms_eval
from skill3d_eval.leaderboard import build_leaderboard, load_run

pytestmark = pytest.mark.integration


def test_leaderboard_of_a_real_program_run_on_triton(synth_triton, tmp_path):
    run_dir = tmp_path / "program_seed"
    run_lmms_eval(
        ["spatial_synth"],
        {"policy": "program", "triton_url": synth_triton.grpc_url, "output_dir": run_dir / "trajectories", "concurrency": 2},
        run_dir / "lmms_eval",
        limit=6,
    )
    run = load_run(run_dir)
    assert run.issues == [] and run.policy == "program"
    assert len(run.tasks["spatial_synth"].questions) == 6 and len(run.trajectories_of("spatial_synth")) == 6
    board = build_leaderboard([run_dir], iterations=500)
    assert board.notes == []  # scores recomputed from the samples agree with lmms-eval's aggregates
    (table,) = board.tables
    assert table.questions == 6 and table.scores.loc["program_seed", "avg"] >= 0.95
    costs = table.costs.loc["program_seed"]
    # every program answer is read off a tool observation: the definition must see that
    assert costs["effective_tool_usage"] == 1.0 and costs["tool_calls_per_question"] >= 1
    assert costs["invalid_tool_call_rate"] == 0.0 and costs["errors"] == {}
    assert costs["expert_seconds_per_question"] > 0
