"""`skill3d-eval skills rollout`: teacher trajectories on a task's training split through the stock
lmms-eval CLI, ready for `skills evolve`; evaluation splits and tasks without training data refused."""

from __future__ import annotations

import pytest

from skill3d_eval.cli import main
from skill3d_eval.skills.store import SkillStore
from skill3d_eval.synth.schema import split_path
from skill3d_eval.trajectory_log import read_trajectories

pytestmark = pytest.mark.integration


def test_rollout_on_the_training_split_feeds_evolution(synth_root, synth_triton, tmp_path, capsys):
    out = tmp_path / "rollout"
    args = f"policy=program,triton_url={synth_triton.grpc_url},concurrency=2"
    assert main(["skills", "rollout", "--task", "spatial_synth", "--model-args", args, "--out", str(out), "--limit", "8"]) == 0
    path = out / "runs" / "rollout-program" / "trajectories.jsonl"
    assert str(path) in capsys.readouterr().out
    trajectories = read_trajectories(path)
    assert len(trajectories) == 8 and all(t.sample_id.startswith("spatial_synth/train/") for t in trajectories)
    assert all(t.stop_reason == "answer" and t.scene_descriptor and t.scene_descriptor["room_scale_m"] > 1 for t in trajectories)
    store = tmp_path / "lib.sqlite"
    assert main(["skills", "evolve", "--store", str(store), "--trajectories", str(path), "--references", str(split_path(synth_root, "train")), "--min-successes", "2"]) == 0
    assert any(skill.provenance.origin == "evolved" for skill in SkillStore(store).skills())


def test_rollout_refuses_evaluation_splits_and_tasks_without_training_data(tmp_path):
    with pytest.raises(SystemExit, match="training splits only"):
        main(["skills", "rollout", "--split", "test", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="names no 'train' data files"):
        main(["skills", "rollout", "--task", "cvbench_3d", "--out", str(tmp_path)])
