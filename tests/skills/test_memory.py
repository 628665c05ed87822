"""Scene Memory keeps only facts observed by experts, each traceable to its tool call."""

from __future__ import annotations

from skill3d_eval.records import Observation, ToolCall, Trajectory, Turn
from skill3d_eval.skills.memory import SceneMemory


def _trajectory(scene: str, ok: bool) -> Trajectory:
    call = ToolCall(id="c0", name="locate_objects", arguments={"category": "chair"})
    content = {"category": "chair", "count": 2, "instances": [{"center_m": [0, 1, 0], "size_m": [0.5, 0.5, 0.9]}, {"center_m": [2, 1, 0], "size_m": [0.5, 0.5, 0.9]}]}
    observation = Observation(tool_call_id="c0", name="locate_objects", ok=ok, content=content if ok else {}, error=None if ok else "expert down")
    room = ToolCall(id="c1", name="measure_room", arguments={})
    room_observation = Observation(tool_call_id="c1", name="measure_room", ok=True, content={"floor_area_m2": 20.5, "extent_m": [5, 4.1, 2.6]})
    return Trajectory(task="t", doc_id=0, sample_id="t/train/0", question="q", task_type="object_counting", scene=scene, policy="program",
                      turns=[Turn(index=0, tool_calls=[call], observations=[observation]), Turn(index=1, tool_calls=[room], observations=[room_observation])])


def test_facts_come_from_successful_observations_of_that_scene():
    memory = SceneMemory.from_trajectories("s1", [_trajectory("s1", ok=True), _trajectory("s2", ok=True)])
    facts = {(f.subject, f.kind): f for f in memory.facts}
    assert facts[("chair", "object_count")].value == 2
    assert facts[("chair", "object_position")].value == [[0, 1, 0], [2, 1, 0]]
    assert facts[("room", "room_extent")].value["floor_area_m2"] == 20.5
    assert facts[("chair", "object_count")].tool == "locate_objects" and facts[("chair", "object_count")].arguments == {"category": "chair"}
    assert all(f.scene == "s1" for f in memory.facts)
    failed = SceneMemory.from_trajectories("s1", [_trajectory("s1", ok=False)])
    assert {(f.subject, f.kind) for f in failed.facts} == {("room", "room_extent")}


def test_facts_of_a_runs_remembered_observations_keep_their_provenance():
    from skill3d_eval.skills.guidance import render_guidance
    from skill3d_eval.tools.memory import RememberedObservation

    frames = ("a" * 32, "b" * 32)
    remembered = [
        RememberedObservation("locate_objects", {"category": "chair"}, {"category": "chair", "count": 1, "instances": [{"center_m": [0, 1, 0], "size_m": [1, 1, 1]}]}, frames, "t/test/3"),
        RememberedObservation("estimate_depth", {"image": 0}, {"depth_m": {"min": 1}}, frames, "t/test/4"),
        RememberedObservation("locate_objects", {"category": "chair"}, {"category": "chair", "count": 2, "instances": []}, frames, "t/test/5"),
    ]
    memory = SceneMemory.from_remembered("s1", remembered)
    facts = {(f.subject, f.kind): f for f in memory.facts}
    assert set(facts) == {("chair", "object_count"), ("chair", "object_position"), ("chair", "object_size")}
    count = facts[("chair", "object_count")]
    assert (count.value, count.sample_id, count.frames, count.arguments) == (2, "t/test/5", list(frames), {"category": "chair"})
    guidance = render_guidance(None, memory)
    assert guidance.splitlines()[0].startswith("Scene Memory") and 'chair object_count: 2 (from locate_objects {"category":"chair"})' in guidance
    assert render_guidance(None, SceneMemory(scene="s1")) is None
