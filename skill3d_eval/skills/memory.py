"""Scene Memory's facts: what experts established about a scene, each with the tool call that produced it.

Facts are read from observations (not from answers), so a fact is only as good as the evidence
behind it and can always be traced back to its call: the tool and arguments, the frames (content
hashes) and the question. They come from a finished run's trajectories (`from_trajectories`) or,
during a run, from the run's Scene Memory store (`from_remembered`, `tools.memory`), whose facts
an LLM policy's guidance lists for the later questions on the same scene and frames.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from skill3d_eval.records import Trajectory
from skill3d_eval.tools.memory import RememberedObservation

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
    frames: list[str] = Field(default_factory=list, description="content hashes of the frames the tool saw (empty: not recorded)")


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

    @classmethod
    def from_remembered(cls, scene: str, remembered: Iterable[RememberedObservation]) -> SceneMemory:
        """The facts of a run's remembered observations, a later one replacing an earlier one on the same subject."""
        facts: dict[tuple[str, str], SceneFact] = {}
        for item in remembered:
            for fact in observation_facts(scene, item.tool, item.arguments, item.content, item.source_sample_id, list(item.frames)):
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
            facts += observation_facts(trajectory.scene, observation.name, call.arguments, observation.content, trajectory.sample_id)
    return facts


def observation_facts(scene: str, tool: str, arguments: dict[str, Any], content: dict[str, Any], sample_id: str, frames: list[str] | None = None) -> list[SceneFact]:
    """The facts one successful observation of `tool` establishes (none for tools that state no scene fact)."""
    found: list[tuple[str, FactKind, Any]] = []
    if tool == "locate_objects":
        category = content.get("category", "")
        instances = content.get("instances", [])
        found += [
            (category, "object_count", content.get("count")),
            (category, "object_position", [item.get("center_m") for item in instances]),
            (category, "object_size", [item.get("size_m") for item in instances]),
        ]
    elif tool == "measure_room":
        found.append(("room", "room_extent", {k: content.get(k) for k in ("floor_area_m2", "extent_m")}))
    return [
        SceneFact(scene=scene, subject=subject, kind=kind, value=value, tool=tool, arguments=arguments, sample_id=sample_id, frames=frames or [])
        for subject, kind, value in found
        if subject
    ]
