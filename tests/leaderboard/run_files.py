"""Run directories written in the exact on-disk formats of lmms-eval 0.7.3 and our model.

`results.json` + `samples_<task>.jsonl` as lmms-eval's EvaluationTracker writes them (no `doc`,
flattened `filtered_resps`, our task's metric items per line), `trajectories.jsonl` and
`run_info.json` as `TrajectoryLog` writes them. Tests choose every answer and score, so the
leaderboard's numbers can be checked against a direct computation.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from skill3d_eval.records import AnswerSource, ExpertsInfo, Observation, RunInfo, ServedExpert, ToolCall, Trajectory, Turn
from skill3d_eval.trajectory_log import TrajectoryLog
from skill3d_eval.scoring.vsibench import task_scores

DATE = "20261125_053509"


@dataclass
class Q:
    id: int
    question_type: str
    target: str
    answer: str
    score: float


@dataclass
class RunSpec:
    questions: list[Q]
    task: str = "spatial_synth"
    split: str = "test"
    frames: int | None = None
    policy: str = "program"
    library: str | None = None
    trajectory_libraries: list[str | None] = field(default_factory=list)
    reported: dict[str, float] | None = None  # override lmms-eval's aggregates
    trajectories: bool = True
    tool_calls_per_question: int = 1
    settings: dict = field(default_factory=dict)  # more recorded settings (model, temperature, expert_parameters, ...)
    experts: dict[str, str] = field(default_factory=dict)  # served expert models' 'version|config digest'
    served: dict[str, ServedExpert] = field(default_factory=dict)  # what each served expert was (backend, checkpoint, ...)
    answer_sources: dict[str, AnswerSource] = field(default_factory=dict)


def write_run(directory: Path, spec: RunSpec) -> Path:
    lmms = directory / "lmms_eval" / "skill3d"
    lmms.mkdir(parents=True)
    items = [{"question_type": q.question_type, "score": q.score} for q in spec.questions]
    aggregates = {k: round(v, 6) for k, v in task_scores(items).items() if not math.isnan(v)}
    reported = spec.reported if spec.reported is not None else {
        f"{spec.task}_overall": aggregates["overall"],
        **{k: v for k, v in aggregates.items() if k != "overall"},
    }
    results = {
        "results": {spec.task: {"alias": spec.task, **{f"{k},none": v for k, v in reported.items()}, **{f"{k}_stderr,none": "N/A" for k in reported}}},
        "configs": {spec.task: {"task": spec.task, "test_split": spec.split, "lmms_eval_specific_kwargs": {"default": {"pre_prompt": "x"}}}},
        "n-samples": {spec.task: {"original": len(spec.questions), "effective": len(spec.questions)}},
        "date": DATE,
    }
    (lmms / f"{DATE}_results.json").write_text(json.dumps(results))
    with (lmms / f"{DATE}_samples_{spec.task}.jsonl").open("w") as handle:
        for doc_id, q in enumerate(spec.questions):
            item = {"id": q.id, "question_type": q.question_type, "score": q.score}
            line = {"doc_id": doc_id, "target": q.target, "filtered_resps": q.answer, "token_counts": [{"input_tokens": 0, "output_tokens": 0}], "doc_hash": "same",
                    f"{spec.task}_overall": item, "object_counting_mra": item, "input": f"question {q.id}"}
            handle.write(json.dumps(line) + "\n")
    if spec.trajectories:
        log = TrajectoryLog(directory / "trajectories" / f"{spec.policy}-abc")
        settings = {"policy": spec.policy, **({"num_frames": spec.frames} if spec.frames is not None else {}), **spec.settings}
        experts = ExpertsInfo(triton_url="h:1", models=spec.experts, served=spec.served) if spec.experts or spec.served else None
        log.write_run_info(RunInfo(run_id="x", settings=settings, library_sha256=spec.library, experts=experts, answer_sources=spec.answer_sources))
        for doc_id, q in enumerate(spec.questions):
            library = spec.trajectory_libraries[doc_id] if doc_id < len(spec.trajectory_libraries) else spec.library
            log.append(trajectory(spec.task, doc_id, q, spec.policy, library, spec.tool_calls_per_question))
    return directory


def trajectory(task: str, doc_id: int, q: Q, policy: str, library: str | None, calls: int) -> Trajectory:
    turns = [
        Turn(
            index=i,
            tool_calls=[ToolCall(id=f"c{i}", name="locate_objects", arguments={"category": "chair"})],
            observations=[Observation(tool_call_id=f"c{i}", name="locate_objects", ok=True, content=_evidence(q.answer), seconds=0.25)],
            prompt_tokens=100,
            completion_tokens=10,
            seconds=0.5,
        )
        for i in range(calls)
    ]
    return Trajectory(
        task=task, doc_id=doc_id, sample_id=f"{task}/test/{doc_id}", question="How many chair(s)?", task_type=q.question_type, scene="s",
        policy=policy, turns=turns, final_text=q.answer, answer=q.answer, seconds=1.0, library_sha256=library,
    )


def _evidence(answer: str) -> dict:
    """An observation that holds the answer: a count for numbers, a category name otherwise."""
    try:
        return {"count": int(float(answer))}
    except ValueError:
        return {"category": answer}


def counting(scores: list[float], start: int = 0) -> list[Q]:
    """Counting questions whose answer is right (score 1 → "2" for target "2") or wrong (score 0 → "9")."""
    return [Q(start + i, "object_counting", "2", "2" if s == 1 else "9", s) for i, s in enumerate(scores)]
