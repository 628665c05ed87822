"""Scene descriptors, scene clusters and evolution per (cluster, task): the workflow that wins in
one kind of room becomes a skill keyed by that kind of room, lessons say where a step failed."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from skill3d_eval.records import Observation, ToolCall, Trajectory, Turn
from skill3d_eval.skills.evolve import EvolutionConfig, evolve
from skill3d_eval.skills.references import Reference
from skill3d_eval.skills.scene import SceneDescriptor, cluster_scenes, describe_scene, similarity
from skill3d_eval.skills.store import SkillStore

QUESTION = "How many chair(s) are in this room?"
LARGE = SceneDescriptor(frames=16, room_scale_m=7.0, clutter=0.02)
SMALL = SceneDescriptor(frames=16, room_scale_m=2.3, clutter=0.07)


class DepthOnly:
    """What describe_scene reads of a ToolContext: the frame count, depth maps and camera poses."""

    def __init__(self, depths: list[np.ndarray]):
        self.depths = depths
        self.frame_count = len(depths)
        self.asked: list[int] = []

    def depth(self, index: int):
        self.asked.append(index)
        return SimpleNamespace(depth=self.depths[index])

    def cameras(self):
        poses = np.repeat(np.eye(4)[None], self.frame_count, axis=0)
        poses[:, 0, 3] = np.linspace(0, 3.0, self.frame_count)  # a 3 m walk along x
        poses[:, 1, 3] = np.linspace(0, 4.0, self.frame_count)  # and 4 m along y: 5 m from the start
        return SimpleNamespace(poses_c2w=poses)


def test_descriptor_reads_room_scale_and_clutter_from_a_few_depth_maps():
    wall = np.full((60, 80), 5.0, dtype=np.float32)
    busy = wall.copy()
    busy[10:50, 10:30] = 2.0  # an object in front of the wall: silhouette edges
    busy[20:40, 50:70] = 1.5
    context = DepthOnly([wall] * 10 + [busy] * 6)
    descriptor = describe_scene(context)
    assert context.asked == [0, 8, 15]  # three probes spread over the video
    assert descriptor.frames == 16 and descriptor.room_scale_m == pytest.approx(5.0) and descriptor.camera_path_m == pytest.approx(5.0)
    assert 0 < describe_scene(DepthOnly([busy] * 3)).clutter and describe_scene(DepthOnly([wall] * 3)).clutter == 0
    assert describe_scene(DepthOnly([])) == SceneDescriptor(frames=0, room_scale_m=0, clutter=0)


def test_clusters_separate_kinds_of_rooms_and_similarity_is_their_closeness():
    rng = np.random.default_rng(0)
    rooms = [SceneDescriptor(frames=16, room_scale_m=round(float(c.room_scale_m + rng.normal(0, 0.2)), 3), clutter=round(float(c.clutter + rng.normal(0, 0.004)), 4))
             for c in [LARGE] * 10 + [SMALL] * 10]
    centres, labels = cluster_scenes(rooms, 2)
    assert len(set(labels[:10])) == 1 and len(set(labels[10:])) == 1 and labels[0] != labels[10]
    assert abs(centres[labels[0]].room_scale_m - 7.0) < 0.3 and abs(centres[labels[10]].room_scale_m - 2.3) < 0.3
    assert similarity(LARGE, LARGE) == 1.0 and similarity(LARGE, SMALL) < 0.01
    assert cluster_scenes(rooms[:1], 4)[0] == [rooms[0]]  # fewer scenes than clusters


def _rollout(doc: int, scene: str, descriptor: SceneDescriptor, masks: str, count: int, *, error: str | None = None,
             failure: str = "expert_error", content: dict | None = None) -> Trajectory:
    call = ToolCall(id="c0", name="locate_objects", arguments={"category": "chair", "masks": masks})
    observation = Observation(tool_call_id="c0", name="locate_objects", ok=error is None, content=(content or {"count": count}) if error is None else {},
                              error=error, failure=None if error is None else failure)
    return Trajectory(task="spatial_synth", doc_id=doc, sample_id=f"spatial_synth/train/{doc}", question=QUESTION, task_type="object_counting",
                      scene=scene, policy="program", turns=[Turn(index=0, tool_calls=[call], observations=[observation])],
                      answer="" if error else str(count), stop_reason="error" if error else "answer", error=error,
                      scene_descriptor=descriptor.model_dump())


def test_evolution_keys_the_workflow_that_wins_in_one_kind_of_room_to_it(tmp_path):
    """Text prompts count right in large sparse rooms and merge chairs in small cluttered ones
    (always 1); detection is right in small rooms and misses one chair in large ones. Text wins
    over all scenes (it is the default), detection wins in the small rooms: a skill keyed to them."""
    trajectories, references = [], {}
    doc = 0
    for room in range(12):
        large = room < 8
        descriptor = (LARGE if large else SMALL).model_copy(update={"room_scale_m": (LARGE if large else SMALL).room_scale_m + 0.01 * room})
        for truth in (2, 3):  # both workflows answer the same questions (paired)
            for masks, answer in (("text", truth if large else 1), ("detection", truth - 1 if large else truth)):
                trajectories.append(_rollout(doc, f"room{room}", descriptor, masks, answer))
            references[doc] = Reference(doc, {"question_type": "object_counting", "ground_truth": str(truth), "options": []}, scene=f"room{room}", source="spatial_synth")
            doc += 1
    trajectories.append(_rollout(doc, "room0", LARGE, "text", 0, error="ExpertUnavailable: depth did not answer"))
    references[doc] = Reference(doc, {"question_type": "object_counting", "ground_truth": "2", "options": []}, scene="room0", source="spatial_synth")
    store = SkillStore(tmp_path / "lib.sqlite")
    report = evolve(store, trajectories, references, EvolutionConfig(clusters=2))

    skills = {skill.workflow.steps[0].arguments["masks"]: skill for skill in store.skills()}
    assert set(skills) == {"text", "detection"}
    default, keyed = skills["text"], skills["detection"]
    assert default.traits.clusters == [] and len(keyed.traits.clusters) == 1
    assert keyed.traits.clusters[0].room_scale_m < 3 and report.cluster_skills == {keyed.id: [report.clusters.index(keyed.traits.clusters[0])]}
    # The default keeps the large rooms as its own territory, so the small-room specialist does not take them.
    assert [c.room_scale_m > 6 for c in default.traits.best_in] == [True] and keyed.traits.best_in == []
    assert report.best_in == {default.id: [report.clusters.index(default.traits.best_in[0])]}
    assert keyed.stats.uses == 8 and keyed.stats.successes == 8  # its stats are its cluster's
    assert "scenes like: small room" in keyed.trigger
    lessons = [lesson.what_went_wrong for lesson in default.lessons]
    assert any("at step locate_objects(masks=text) in small room" in text for text in lessons), lessons
    assert any("at step locate_objects(masks=detection) in large room" in text for text in lessons), lessons
    assert not any("ExpertUnavailable" in text for text in lessons), "a harness error is not a lesson"

    again = evolve(store, trajectories, references, EvolutionConfig(clusters=2))
    assert again.promoted == [] and sorted(again.merged) == sorted([default.id, keyed.id])
    assert len(store.skills()) == 2 and store.get(keyed.id).traits.clusters == keyed.traits.clusters
    assert store.get(default.id).traits.best_in == default.traits.best_in  # replaced by the same clustering, not appended


def _counting_reference(doc: int, truth: int, scene: str) -> Reference:
    return Reference(doc, {"question_type": "object_counting", "ground_truth": str(truth), "options": []}, scene=scene, source="spatial_synth")


def test_a_workflow_whose_tool_fails_has_its_failures_counted(tmp_path):
    """Text prompts answer right when they answer but the tool fails on half the questions;
    detection answers every question and is wrong on a sixth. Counting only the answers text gave
    would make it the default (12 of 12); counted as attempted, it is right on 12 of 24."""
    trajectories, references = [], {}
    for doc in range(24):
        scene, truth = f"room{doc // 2}", 2 + doc % 2
        references[doc] = _counting_reference(doc, truth, scene)
        fails = doc % 2 == 0
        trajectories.append(_rollout(doc, scene, LARGE, "text", truth, error="ToolError: no 'chair' found" if fails else None, failure="tool_error"))
        trajectories.append(_rollout(doc, scene, LARGE, "detection", truth - (doc % 6 == 0)))
    report = evolve(SkillStore(tmp_path / "lib.sqlite"), trajectories, references, EvolutionConfig(clusters=1))
    (default,) = [skill for skill in SkillStore(tmp_path / "lib.sqlite").skills() if skill.id in report.promoted]
    assert default.workflow.steps[0].arguments["masks"] == "detection" and (default.stats.uses, default.stats.successes) == (24, 20)
    lessons = [lesson.what_went_wrong for lesson in default.lessons]
    assert any("12 rollout(s) failed (tool_failure) at step locate_objects(masks=text)" in text for text in lessons), lessons


def test_a_seeds_own_rollouts_merge_into_it_even_when_another_field_also_gives_the_answer(tmp_path):
    """The observations carry the count twice; the seed reads `count`, the first candidate
    computation reads `n`: the seed answered, so evolution adds to its stats and promotes nothing."""
    from skill3d_eval.skills.model import FinalComputation, Provenance, Skill, Step, Workflow

    seed = Skill(id="seed.count", task_types=["object_counting"], trigger="count chairs", strategy="locate, count",
                 workflow=Workflow(question_pattern="How many {category}(s) are in this room?",
                                   steps=[Step(tool="locate_objects", arguments={"category": "{category}", "masks": "text"})],
                                   final=FinalComputation(op="value", step=0, path="count")),
                 provenance=Provenance(origin="seed"))
    store = SkillStore(tmp_path / "lib.sqlite")
    store.put_many([seed])
    trajectories, references = [], {}
    for doc in range(6):
        references[doc] = _counting_reference(doc, 2, f"room{doc}")
        trajectories.append(_rollout(doc, f"room{doc}", LARGE, "text", 2, content={"n": 2, "count": 2}))
    report = evolve(store, trajectories, references, EvolutionConfig(clusters=1))
    assert report.promoted == [] and report.merged == ["seed.count"]
    assert [(s.id, s.provenance.origin, s.stats.uses) for s in store.skills()] == [("seed.count", "seed", 6)]
