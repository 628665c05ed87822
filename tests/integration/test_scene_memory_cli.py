"""Scene Memory through the stock lmms-eval CLI: on spatial_synth's test split the program
policy's later questions on a scene take what earlier ones computed (recorded per observation,
with the question it came from), the experts are asked far less often, and every answer, score
and the run's fingerprint are those of the same run with scene_memory=false."""

from __future__ import annotations

import json

import pytest

from skill3d_eval.evaluate import run_lmms_eval
from skill3d_eval.trajectory_log import read_trajectories
from tests.support.side_by_side import side_by_side

pytestmark = pytest.mark.integration

# The test split's first documents: counting and distance questions on two scenes.
LIMIT = 11  # two scenes: 4 and 7 questions (rows list each scene's questions together)


def test_later_questions_on_a_scene_reuse_what_earlier_ones_computed(synth_triton, tmp_path):
    def run(name: str, scene_memory: bool):
        args = {"policy": "program", "triton_url": synth_triton.grpc_url, "output_dir": tmp_path / "runs", "run_name": name, "scene_memory": scene_memory, "concurrency": 2}
        results = json.loads(run_lmms_eval(["spatial_synth"], args, tmp_path / name, limit=LIMIT).read_text())["results"]["spatial_synth"]
        trajectories = sorted(read_trajectories(tmp_path / "runs" / name / "trajectories.jsonl"), key=lambda t: t.doc_id)
        run_info = json.loads((tmp_path / "runs" / name / "run_info.json").read_text())
        return results, trajectories, run_info

    with_memory, plain = side_by_side(lambda: run("memory", True), lambda: run("plain", False))
    (results, trajectories, info), (plain_results, plain_trajectories, plain_info) = with_memory, plain

    assert len(trajectories) == len(plain_trajectories) == LIMIT
    assert [t.answer for t in trajectories] == [t.answer for t in plain_trajectories] and all(t.error is None for t in trajectories)
    assert results["spatial_synth_overall,none"] == plain_results["spatial_synth_overall,none"] >= 0.95
    assert info["settings"]["scene_memory"] is True and plain_info["settings"]["scene_memory"] is False
    assert info["settings_fingerprint"] == plain_info["settings_fingerprint"]  # it does not change answers

    observations = [o for t in trajectories for turn in t.turns for o in turn.observations]
    plain_observations = [o for t in plain_trajectories for turn in t.turns for o in turn.observations]
    assert all(o.memory is None and o.expert_calls > 0 for o in plain_observations)
    calls, plain_calls = sum(o.expert_calls for o in observations), sum(o.expert_calls for o in plain_observations)
    # How much is saved depends on the questions' mix (segmentation is asked per category, so two
    # counting questions about different categories share nothing): 450 of 875 calls on these
    # rows; the split-wide ratio is benchmarks/scene_memory.py's RESULT.
    assert calls < 0.6 * plain_calls, (calls, plain_calls)

    scene_of = {t.sample_id: t.scene for t in trajectories}
    by_scene: dict[str, list] = {}
    for trajectory in trajectories:
        by_scene.setdefault(trajectory.scene, []).append(trajectory)
    shared = {scene: questions for scene, questions in by_scene.items() if len(questions) >= 2}
    assert sum(len(questions) for questions in shared.values()) >= LIMIT - 1
    for scene, questions in shared.items():
        recalls = [(t.sample_id, r) for t in questions for turn in t.turns for o in turn.observations for r in o.memory.recalls]
        assert recalls, f"no question on {scene} reused anything"
        for sample_id, recall in recalls:
            # from another question of the same scene and split, computed from that question's frames
            assert scene_of[recall.source_sample_id] == scene and recall.source_sample_id.startswith("spatial_synth/test/")
            assert recall.frames and all(len(frame) == 32 for frame in recall.frames)
        # each of these questions needs the scene's camera poses and every frame's depth: all but
        # the question that computed them take them from memory
        reusing = {sample_id for sample_id, _ in recalls}
        assert len(reusing) >= len(questions) - 1
