"""Per task column and run, the questions that cost the most: where to start reading trajectories.

"Worst" is the lowest score; among equal scores a numeric answer further from the truth
(relative error) comes first, and a reply with no number at all first of those. Only questions
scored below full marks are listed: a column a run got entirely right has nothing to read.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from skill3d_eval.leaderboard.layouts import Layout
from skill3d_eval.leaderboard.runs import QuestionScore, RunResult
from skill3d_eval.records import Trajectory
from skill3d_eval.scoring.numeric import extract_number

WORST_PER_COLUMN = 3
_EXCERPT_LINES = 6
_EXCERPT_WIDTH = 160


@dataclass(frozen=True)
class WorstQuestion:
    run: str
    column: str
    question_id: str
    question: str
    answer: str
    target: str
    score: float
    relative_error: float | None  # |answer − truth| / truth for numeric questions; inf when the reply holds no number
    trajectory_file: Path | None
    sample_id: str | None
    excerpt: tuple[str, ...]  # the trajectory, one line per tool call, then the stop


def _relative_error(answer: str, target: str) -> float | None:
    truth = extract_number(target)
    if truth is None:
        return None
    value = extract_number(answer)
    if value is None:
        return math.inf
    return abs(value - truth) / abs(truth) if truth else (0.0 if value == truth else math.inf)


def _short(text: str, width: int = _EXCERPT_WIDTH) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def excerpt(trajectory: Trajectory) -> tuple[str, ...]:
    """What the policy did, one line per call: `tool(arguments) → result`, then how it stopped."""
    lines = []
    for turn in trajectory.turns:
        observations = {o.tool_call_id: o for o in turn.observations}
        for call in turn.tool_calls:
            arguments = ", ".join(f"{key}={json.dumps(value)}" for key, value in call.arguments.items())
            seen = observations.get(call.id)
            if seen is None:
                result = "not run"
            elif seen.ok:
                result = json.dumps(seen.content, separators=(",", ":"))
            else:
                result = f"error: {seen.error}"
            lines.append(_short(f"{call.name}({arguments}) → {result}"))
    if len(lines) > _EXCERPT_LINES:
        lines = [*lines[: _EXCERPT_LINES - 1], f"… {len(lines) - _EXCERPT_LINES + 1} more calls"]
    stop = f"answer {trajectory.answer!r} ({trajectory.stop_reason})"
    lines.append(_short(stop + (f": {trajectory.error}" if trajectory.error else "")))
    return tuple(lines)


def _worst(questions: list[QuestionScore]) -> list[tuple[QuestionScore, float | None]]:
    wrong = [(q, _relative_error(q.answer, q.target)) for q in questions if q.score < 1.0]
    wrong.sort(key=lambda pair: (pair[0].score, -(pair[1] if pair[1] is not None else 0.0)))
    return wrong[:WORST_PER_COLUMN]


def worst_questions(task: str, run: RunResult, layout: Layout, columns: list[str]) -> list[WorstQuestion]:
    """Up to WORST_PER_COLUMN per score column of `columns` (the table's, without "avg")."""
    found = []
    questions = run.tasks[task].questions
    for column in layout.columns:
        if column.label not in columns:
            continue
        for question, error in _worst([q for q in questions if q.question_type in column.question_types]):
            trajectory = run.trajectories.get((task, question.doc_id))
            text = question.question or (trajectory.question if trajectory else "")
            found.append(
                WorstQuestion(
                    run=run.label,
                    column=column.label,
                    question_id=question.question_id,
                    question=_short(text, 240),
                    answer=question.answer,
                    target=question.target,
                    score=question.score,
                    relative_error=error,
                    trajectory_file=run.trajectories_file if trajectory else None,
                    sample_id=trajectory.sample_id if trajectory else None,
                    excerpt=excerpt(trajectory) if trajectory else (),
                )
            )
    return found
