"""The shared vocabulary every layer passes around: samples, tool calls, observations,
turns, trajectories, the run's metadata and the failures that end one sample.

This module sits below everything (it imports nothing of the package), so tools, experts,
skills, metrics, the leaderboard and the SFT export all read the same records without reaching
up into the agent. A trajectory is data, not a log line: every tool call keeps its validated
arguments and its structured observation, so runs can be re-read, re-scored, evolved into
skills and exported for training without parsing text.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import xxhash
from pydantic import BaseModel, Field

AnswerKind = Literal["number", "choice"]
# Why a tool call produced no observation content; decided where it happened, never parsed from text.
ObservationFailure = Literal["unknown_tool", "invalid_arguments", "repeated_call", "tool_error", "expert_error"]
# What a tool's image shows: a box/mask overlay of the frame, a depth colour map, a super-resolved crop, a novel view.
ObservationImageKind = Literal["overlay", "depth_colormap", "super_resolution", "novel_view"]


class SampleError(ValueError):
    """A document or its visuals cannot be turned into a sample; the message names sample and field."""


@dataclass(frozen=True)
class SampleIdentity:
    """What identifies a request without decoding its visuals (resume keys, the leakage guard).

    `content_hash` covers everything that makes two requests the same question: resume reuses
    a finished answer only for an equal hash (and equal settings), never by position.
    """

    task: str
    doc_id: int
    sample_id: str
    question: str
    scene: str | None
    content_hash: str = ""


def content_hash(*parts: object) -> str:
    """A stable digest of JSON-serialisable parts (question, options, media identities, source, ...)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


@dataclass
class Sample:
    """One question as the agent sees it: prompt text, decoded frames and benchmark metadata."""

    task: str
    doc_id: int
    sample_id: str
    question: str
    frames: list[np.ndarray]
    task_type: str | None = None
    options: list[str] = field(default_factory=list)
    scene: str | None = None
    # Scene Memory shares results only between questions of one task, split and scene.
    split: str | None = None

    @property
    def answer_kind(self) -> AnswerKind:
        return "choice" if self.options else "number"

    @property
    def frame_hashes(self) -> tuple[str, ...]:
        """Each frame's content hash (xxh3-128 of its pixels): in the sample's identity, and Scene Memory's keys."""
        return tuple(xxhash.xxh3_128_hexdigest(np.ascontiguousarray(frame).data) for frame in self.frames)

    @property
    def identity(self) -> SampleIdentity:
        """Built from the decoded sample (rollouts, tests); lmms-eval requests get theirs before decoding."""
        digest = content_hash(self.task, self.sample_id, self.question, self.options, list(self.frame_hashes))
        return SampleIdentity(self.task, self.doc_id, self.sample_id, self.question, self.scene, digest)

    def check_bounds(self, max_frames: int, max_frame_pixels: int) -> None:
        """Reject inputs too large to handle instead of truncating them silently."""
        if len(self.frames) > max_frames:
            raise SampleError(f"{self.sample_id}: {len(self.frames)} frames exceed max_frames={max_frames}")
        for index, frame in enumerate(self.frames):
            if frame.shape[0] * frame.shape[1] > max_frame_pixels:
                raise SampleError(f"{self.sample_id}: frame {index} of {frame.shape[1]}x{frame.shape[0]} exceeds max_frame_pixels={max_frame_pixels}")


class ToolCall(BaseModel):
    id: str
    name: str
    arguments: dict[str, Any] | str


class ObservationImage(BaseModel):
    """A reference to visual evidence a tool returned beside its JSON (`observation_images`).

    The encoded bytes travel to the model only; the trajectory keeps this reference, so runs
    with images stay as small (and as resumable) as text-only ones.
    """

    kind: ObservationImageKind
    caption: str = Field(description="what the image shows, as the model is told before it")
    media_type: Literal["image/png", "image/jpeg"]
    sha256: str = Field(description="of the encoded bytes")
    width: int
    height: int
    size_bytes: int = Field(description="encoded size; the per-turn budget counts these (base64 adds a third on the wire)")
    attached: bool = Field(True, description="false: left out of the request, the turn's image byte budget was spent")


class MemoryRecall(BaseModel):
    """Results Scene Memory supplied to a call instead of computing them again, and where they came from."""

    kind: Literal["observation", "expert"] = Field(description="observation: the tool's whole result; expert: expert results the tool read")
    name: str = Field(description="the tool (observation) or expert (depth, segmentation, detection, reconstruction, super_resolution, novel_view)")
    frames: list[str] = Field(description="content hashes (xxh3-128 of the pixels) of the frames the results were computed from")
    source_sample_id: str = Field(description="the question whose call computed them")


class ObservationMemory(BaseModel):
    """Scene Memory's part in one tool call (runs with scene_memory=true)."""

    reused: bool = Field(description="the observation was remembered from the same call on the same frames by an earlier question: no tool ran, no expert was asked")
    source_sample_id: str | None = Field(None, description="with reused: the question whose call produced it")
    recalls: list[MemoryRecall] = Field(default_factory=list, description="what was remembered, by expert/tool and source question")


class Observation(BaseModel):
    """A tool's result as the model receives it: compact JSON, or an error it can correct."""

    tool_call_id: str
    name: str
    ok: bool
    content: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    failure: ObservationFailure | None = Field(None, description="set exactly when ok is false")
    images: list[ObservationImage] = Field(default_factory=list, description="visual evidence sent after the turn's tool results (observation_images=true)")
    seconds: float = 0.0
    expert_calls: int | None = Field(None, description="expert requests this call made; None: not counted (trajectories before this field, calls that never reached a tool)")
    memory: ObservationMemory | None = Field(None, description="what Scene Memory supplied; None: the run had no Scene Memory, or trajectories before this field")


class Turn(BaseModel):
    index: int
    notes: list[str] = Field(default_factory=list, description="user notes sent just before this turn's request (empty reply, tool budget exhausted)")
    assistant_text: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tagged: bool = Field(False, description="the calls were parsed from <tool_call> text tags: they and their results travel as text, not native tool messages")
    observations: list[Observation] = Field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


class Trajectory(BaseModel):
    task: str
    doc_id: int
    sample_id: str
    question: str
    task_type: str | None
    scene: str | None
    policy: str
    options: list[str] = Field(default_factory=list, description="the answer options the model was shown (appended to the question when it lacks them)")
    guidance: str | None = Field(None, description="the retrieved skills' text the system prompt carried")
    turns: list[Turn] = Field(default_factory=list)
    final_text: str | None = None
    answer: str = ""
    stop_reason: Literal["answer", "max_turns", "error"] = "answer"
    error: str | None = None
    seconds: float = 0.0
    run_id: str = ""
    fingerprint: str = Field("", description="settings fingerprint: resume reuses a trajectory only under the same settings")
    sample_hash: str = Field("", description="SampleIdentity.content_hash: resume reuses a trajectory only for the same question")
    retrieved_skills: list[str] = Field(default_factory=list, description="skill ids retrieved for this question, best first")
    retrieval_scores: list[float] = Field(default_factory=list, description="their retrieval scores, same order")
    executed_skill: str | None = Field(None, description="the skill whose workflow the program policy executed")
    library_sha256: str | None = Field(None, description="sha256 of the frozen library the skills came from")
    scene_descriptor: dict[str, float] | None = Field(None, description="the scene descriptor retrieval ranked by (skills.scene); evolution clusters scenes by it")
    scene_probe_expert_calls: int = Field(0, description="expert requests the scene descriptor made before the first tool call (observations count the rest)")

    @property
    def tool_calls(self) -> int:
        return sum(len(turn.tool_calls) for turn in self.turns)

    @property
    def error_kind(self) -> str:
        """What kind of recorded failure this was: the exception type the runner wrote before ':'."""
        return (self.error or "error").split(":", 1)[0].strip() or "error"


class ServedExpert(BaseModel):
    """One expert model as the server reported it when the run started, so the run's conditions
    can be named later ('depth: real v2, checkpoint X'); `ExpertsInfo.models` keeps only a digest."""

    version: str
    backend: str = Field("", description="config parameter 'backend' (oracle, real, ...); '' when the model has none")
    checkpoint: str | None = Field(None, description="config parameter 'checkpoint' (a real backend's checkpoint directory)")
    parameters: dict[str, str] = Field(default_factory=dict, description="the other config parameters (noise levels, oracle_root, ...)")

    @classmethod
    def from_config(cls, version: str, parameters: dict[str, str]) -> ServedExpert:
        rest = dict(parameters)
        return cls(version=version, backend=rest.pop("backend", ""), checkpoint=rest.pop("checkpoint", None), parameters=rest)


class ExpertsInfo(BaseModel):
    """Which expert endpoint answered the run's tool calls."""

    triton_url: str | None = Field(None, description="None: the policy calls no experts, none was started")
    started_locally: bool = False
    models: dict[str, str] = Field(default_factory=dict, description="model -> 'version|config digest' as the server reported them")
    served: dict[str, ServedExpert] = Field(default_factory=dict, description="model -> backend, version, checkpoint, parameters (runs before this field: empty)")
    replicas: int = 1
    repository: str | None = None
    oracle_root: str | None = None
    checkpoints: dict[str, str] = Field(default_factory=dict, description="model -> checkpoint directory of a locally started `real` backend (experts_checkpoints)")


class ExpertCacheStats(BaseModel):
    hits: int = 0
    misses: int = Field(0, description="lookups the cache could not answer (server calls)")

    @property
    def hit_rate(self) -> float | None:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else None


class FailureReason(BaseModel):
    reason: str = Field(description="the exception type of a recorded failure, or the stop reason")
    count: int
    example: str = Field("", description="one full message of this kind")


class FailedQuestion(BaseModel):
    sample_id: str
    reason: str = Field(description="as FailureReason.reason")
    error: str


class RunOutcome(BaseModel):
    """How many questions failed and why: written to run_info.json and into lmms-eval's results file."""

    questions: int
    failed: int
    max_failed_fraction: float
    top_failures: list[FailureReason] = Field(default_factory=list)
    first_failed: list[FailedQuestion] = Field(default_factory=list, description="the first few failed questions, in answering order")

    @property
    def failed_fraction(self) -> float:
        return self.failed / self.questions if self.questions else 0.0

    @property
    def ok(self) -> bool:
        return self.failed_fraction <= self.max_failed_fraction

    def summary(self) -> str:
        reasons = "; ".join(f"{f.reason} x{f.count} (e.g. {f.example[:160]})" for f in self.top_failures) or "none"
        return f"{self.failed} of {self.questions} questions failed ({self.failed_fraction:.1%}, allowed {self.max_failed_fraction:.1%}); top reasons: {reasons}"


class AnswerSource(BaseModel):
    """The split whose answer distribution a chance baseline drew from for one task."""

    split: str
    evaluated: bool = Field(
        description="the split under evaluation itself (a task without a training split; VSI-Bench's paper computes its chance levels so), each question's own row left out"
    )


class RunInfo(BaseModel):
    """`run_info.json`: what a run was, so the leaderboard and metrics read fields, not dict keys."""

    run_id: str
    started_at: str = ""
    settings: dict[str, Any] = Field(default_factory=dict, description="the settings as JSON, secrets excluded")
    settings_fingerprint: str = ""
    library_sha256: str | None = None
    experts: ExpertsInfo | None = None
    answer_sources: dict[str, AnswerSource] = Field(default_factory=dict, description="chance_* policies: task -> the split whose answers they drew from")
    versions: dict[str, str] = Field(default_factory=dict)
    expert_cache: ExpertCacheStats | None = Field(None, description="recorded when the run used a result cache")
    tool_rendering: str | None = Field(None, description="how the LLM saw the tool schemas: endpoint (the server rendered them), chat_template (the local checkpoint's template), hermes_system_block (a Hermes block in the system message)")
    outcome: RunOutcome | None = Field(None, description="written when the run's questions have all been answered or recorded as failed")

    @property
    def policy(self) -> str | None:
        return self.settings.get("policy")
