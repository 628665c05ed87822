"""Typed records at the agent's boundaries: what goes in (Sample) and what is kept (Trajectory).

A trajectory is data, not a log line: every tool call keeps its validated arguments and its
structured observation, so runs can be re-read, re-scored, evolved into skills and exported
for training without parsing text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from skill3d_eval.agent.errors import SampleError

AnswerKind = Literal["number", "choice"]


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

    @property
    def answer_kind(self) -> AnswerKind:
        return "choice" if self.options else "number"

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


class Observation(BaseModel):
    """A tool's result as the model receives it: compact JSON, or an error it can correct."""

    tool_call_id: str
    name: str
    ok: bool
    content: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0


class Turn(BaseModel):
    index: int
    assistant_text: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
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
    turns: list[Turn] = Field(default_factory=list)
    final_text: str | None = None
    answer: str = ""
    stop_reason: Literal["answer", "max_turns", "error"] = "answer"
    error: str | None = None
    seconds: float = 0.0
    run_id: str = ""
    fingerprint: str = Field("", description="settings fingerprint: resume reuses a trajectory only under the same settings")
    retrieved_skills: list[str] = Field(default_factory=list, description="skill ids retrieved for this question, best first")
    retrieval_scores: list[float] = Field(default_factory=list, description="their retrieval scores, same order")
    executed_skill: str | None = Field(None, description="the skill whose workflow the program policy executed")
    library_sha256: str | None = Field(None, description="sha256 of the frozen library the skills came from")

    @property
    def tool_calls(self) -> int:
        return sum(len(turn.tool_calls) for turn in self.turns)
