"""Scene Memory: facts experts established about a scene, each with the tool call that produced it.

Facts are harvested from recorded observations (not from answers), so a fact is only as good as
the evidence behind it and can always be traced back to its call.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from skill3d_eval.records import Trajectory

FactKind = Literal["object_count", "object_position", "object_size", "room_extent"]


class SceneFact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scene: str = Field(min_length=1)
    subject: str = Field(min_length=1, description="object category, or 'room'")
    kind: FactKind
    value: Any
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    sample_id: str = ""


class SceneMemory(BaseModel):
    scene: str
    facts: list[SceneFact] = Field(default_factory=list)

    @classmethod
    def from_trajectories(cls, scene: str, trajectories: list[Trajectory]) -> SceneMemory:
        facts: dict[tuple[str, str], SceneFact] = {}
        for trajectory in trajectories:
            if trajectory.scene != scene:
                continue
            for fact in facts_of(trajectory):
                facts[(fact.subject, fact.kind)] = fact
        return cls(scene=scene, facts=list(facts.values()))


def facts_of(trajectory: Trajectory) -> list[SceneFact]:
    """The facts one trajectory's successful observations establish."""
    if not trajectory.scene:
        return []
    facts = []
    for turn in trajectory.turns:
        calls = {call.id: call for call in turn.tool_calls}
        for observation in turn.observations:
            call = calls.get(observation.tool_call_id)
            if not observation.ok or call is None or not isinstance(call.arguments, dict):
                continue
            content = observation.content
            found: list[tuple[str, FactKind, Any]] = []
            if observation.name == "locate_objects":
                category = content.get("category", "")
                instances = content.get("instances", [])
                found += [
                    (category, "object_count", content.get("count")),
                    (category, "object_position", [item.get("center_m") for item in instances]),
                    (category, "object_size", [item.get("size_m") for item in instances]),
                ]
            elif observation.name == "measure_room":
                found.append(("room", "room_extent", {k: content.get(k) for k in ("floor_area_m2", "extent_m")}))
            facts += [
                SceneFact(scene=trajectory.scene, subject=subject, kind=kind, value=value, tool=observation.name, arguments=call.arguments, sample_id=trajectory.sample_id)
                for subject, kind, value in found
            ]
    return facts
