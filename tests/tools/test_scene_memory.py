"""Scene Memory: one computation per (scene, split, frames, call), shared by concurrent and later
questions, recorded with its provenance, and never reused where the frames differ."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from skill3d_eval.experts import DepthResult
from skill3d_eval.records import Observation, Sample
from skill3d_eval.tools import SceneMemoryStore, ToolContext, default_toolset
from skill3d_eval.tools.memory import MemoryKey, MemoryScope
from tests.support.pixel_experts import PixelExperts


def frames(*values: int) -> list[np.ndarray]:
    return [np.full((12, 16, 3), value, np.uint8) for value in values]


def sample(sample_id: str, pixels: list[np.ndarray], *, scene: str | None = "room_1", split: str = "test", task: str = "spatial_synth") -> Sample:
    return Sample(task=task, doc_id=0, sample_id=sample_id, question="q", frames=pixels, scene=scene, split=split)


def call(context: ToolContext, tool: str, arguments: dict) -> Observation:
    return default_toolset().call(context, tool, arguments, "c")


def test_a_later_question_on_the_scene_reuses_the_observation_with_its_provenance():
    experts, memory, shared = PixelExperts(), SceneMemoryStore(), frames(10, 200, 90)
    first = call(ToolContext(sample("t/test/1", shared), experts, memory), "reconstruct_cameras", {})
    second = call(ToolContext(sample("t/test/2", shared), experts, memory), "reconstruct_cameras", {})
    assert first.ok and second.ok and second.content == first.content
    assert first.expert_calls == 1 and not first.memory.reused and first.memory.recalls == []
    assert second.expert_calls == 0 and second.memory.reused and second.memory.source_sample_id == "t/test/1"
    (recall,) = second.memory.recalls
    assert recall.kind == "observation" and recall.name == "reconstruct_cameras" and len(recall.frames) == 3
    assert experts.calls == {"reconstruction": 1}
    second.content["cameras"].clear()  # a trajectory's copy: the memory and the first trajectory keep theirs
    assert call(ToolContext(sample("t/test/3", shared), experts, memory), "reconstruct_cameras", {}).content == first.content


def test_without_memory_every_question_asks_the_experts():
    experts, shared = PixelExperts(), frames(10, 200, 90)
    for n in range(3):
        observation = call(ToolContext(sample(f"t/test/{n}", shared), experts), "estimate_depth", {"image": 1})
        assert observation.expert_calls == 1 and observation.memory is None
    assert experts.calls == {"depth": 3}


def test_per_image_results_follow_the_frame_multi_view_results_need_the_same_frames():
    """Depth of an image depends on that image only: reused wherever the frame sits. Camera poses
    are in the first view's frame and tool observations name image indices: other frames, no reuse."""
    experts, memory = PixelExperts(), SceneMemoryStore()
    a, b = ToolContext(sample("t/test/a", frames(10, 200, 90)), experts, memory), ToolContext(sample("t/test/b", frames(200, 90)), experts, memory)
    call(a, "estimate_depth", {"image": 1})
    call(a, "reconstruct_cameras", {})
    depth = call(b, "estimate_depth", {"image": 0})  # the same pixels as a's image 1
    assert depth.expert_calls == 0 and not depth.memory.reused
    (recall,) = depth.memory.recalls
    assert (recall.kind, recall.name, recall.source_sample_id, recall.frames) == ("expert", "depth", "t/test/a", [b.frame_hashes[0]])
    cameras = call(b, "reconstruct_cameras", {})
    assert cameras.expert_calls == 1 and not cameras.memory.reused and cameras.memory.recalls == []
    assert experts.calls == {"depth": 1, "reconstruction": 2}


@pytest.mark.parametrize("other", [{"split": "train"}, {"scene": "room_2"}, {"task": "spatial_synth_cv3d"}])
def test_nothing_crosses_splits_scenes_or_tasks(other):
    experts, memory, shared = PixelExperts(), SceneMemoryStore(), frames(10, 200)
    call(ToolContext(sample("s/test/1", shared), experts, memory), "estimate_depth", {"image": 0})
    observation = call(ToolContext(sample("s/other/1", shared, **other), experts, memory), "estimate_depth", {"image": 0})
    assert observation.expert_calls == 1 and not observation.memory.reused and experts.calls == {"depth": 2}


def test_samples_without_a_scene_do_not_use_memory():
    experts, memory = PixelExperts(), SceneMemoryStore()
    for n in range(2):
        observation = call(ToolContext(sample(f"img/test/{n}", frames(7), scene=None), experts, memory), "estimate_depth", {"image": 0})
        assert observation.memory is None and observation.expert_calls == 1
    assert len(memory) == 0


def test_concurrent_askers_share_one_computation():
    memory, started, release = SceneMemoryStore(), threading.Event(), threading.Event()
    key = MemoryKey(MemoryScope("t", "test", "room"), "expert", "depth", ("f0",), "()")
    computed = []

    def compute():
        computed.append(1)
        started.set()
        release.wait(5)
        return DepthResult(depth=np.ones((2, 2), np.float32), intrinsics=np.eye(3, dtype=np.float32))

    results: dict[str, tuple] = {}

    def ask(name: str) -> None:
        results[name] = memory.recall(key, compute, name)

    leader = threading.Thread(target=ask, args=("q0",))
    leader.start()
    assert started.wait(5)
    waiters = [threading.Thread(target=ask, args=(f"q{n}",)) for n in range(1, 6)]
    for thread in waiters:
        thread.start()
    release.set()
    for thread in [leader, *waiters]:
        thread.join(5)
    assert len(computed) == 1 and len(results) == 6
    assert results["q0"][1] is None and {source for _, source in (results[f"q{n}"] for n in range(1, 6))} == {"q0"}
    assert all(value is results["q0"][0] for value, _ in results.values())
    assert memory.stats.computed == 1 and memory.stats.shared + memory.stats.hits == 5


def test_a_failed_computation_is_not_remembered():
    memory = SceneMemoryStore()
    key = MemoryKey(MemoryScope("t", "test", "room"), "observation", "locate_objects", ("f0",), '{"category":"chair"}')

    def fail():
        raise RuntimeError("expert down")

    with pytest.raises(RuntimeError):
        memory.recall(key, fail, "q1")
    assert memory.recall(key, lambda: {"count": 2}, "q2") == ({"count": 2}, None)
    assert memory.recall(key, lambda: {"count": 9}, "q3") == ({"count": 2}, "q2")


def test_memory_is_bounded_by_bytes_least_recently_used_first():
    depth = lambda: DepthResult(depth=np.ones((10, 10), np.float32), intrinsics=np.eye(3, dtype=np.float32))  # 400 + 36 bytes
    memory = SceneMemoryStore(max_bytes=1000)
    keys = [MemoryKey(MemoryScope("t", "test", "room"), "expert", "depth", (f"f{n}",), "()") for n in range(3)]
    memory.recall(keys[0], depth, "q")
    memory.recall(keys[1], depth, "q")
    memory.recall(keys[0], depth, "q")  # keys[0] is now the most recent
    memory.recall(keys[2], depth, "q")
    assert memory.stats.evictions == 1 and len(memory) == 2
    assert memory.recall(keys[0], depth, "other")[1] == "q" and memory.recall(keys[1], depth, "other")[1] is None


def test_remembered_observations_are_those_of_the_same_frames_in_order():
    experts, memory, shared = PixelExperts(), SceneMemoryStore(), frames(10, 200)
    first = ToolContext(sample("t/test/1", shared), experts, memory)
    call(first, "estimate_depth", {"image": 1})
    call(first, "reconstruct_cameras", {})
    call(ToolContext(sample("t/test/2", frames(10)), experts, memory), "estimate_depth", {"image": 0})
    remembered = ToolContext(sample("t/test/3", shared), experts, memory).remembered_observations()
    assert [(r.tool, r.arguments, r.source_sample_id) for r in remembered] == [
        ("estimate_depth", {"image": 1, "points": []}, "t/test/1"), ("reconstruct_cameras", {}, "t/test/1"),
    ]


def test_trajectories_written_before_scene_memory_still_read():
    old = '{"tool_call_id": "c0", "name": "locate_objects", "ok": true, "content": {"count": 1}, "error": null, "failure": null, "images": [], "seconds": 0.5}'
    observation = Observation.model_validate_json(old)
    assert observation.memory is None and observation.expert_calls is None


def test_scene_memory_enters_the_fingerprint_only_where_it_changes_prompts():
    """Program answers are the same with and without it (a remembered call returns what the call
    returned); an LLM's system prompt lists the remembered facts."""
    from skill3d_eval.settings import Settings

    assert Settings(policy="program").fingerprint() == Settings(policy="program", scene_memory=False).fingerprint()
    for policy in ("llm", "skill3d", "tool_agent"):
        assert Settings(policy=policy).fingerprint() != Settings(policy=policy, scene_memory=False).fingerprint()
    assert "scene_memory" in Settings.model_fields and Settings().scene_memory is True
