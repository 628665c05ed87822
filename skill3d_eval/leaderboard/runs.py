"""One evaluated run read back from disk: lmms-eval's results and samples, and our trajectories.

A run directory holds (anywhere below it) lmms-eval's `<date>_results.json` with its
`<date>_samples_<task>.jsonl` (written with `--log_samples`), and optionally the model's
`trajectories.jsonl` + `run_info.json`. Per-question scores come from the samples file, so the
leaderboard can bootstrap and pair them; the trajectories give the cost columns. What does not
fit together (answers that disagree, several libraries in one run) is kept as an issue of the
run, never silently merged.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from skill3d_eval.leaderboard.dates import RunDateError, run_started
from skill3d_eval.records import RunInfo, Trajectory
from skill3d_eval.trajectory_log import read_run_info, read_trajectories

# Keys that hold a question's score in a per-sample metric item (ours, then lmms-eval's vsibench),
# and its category (VSI-Bench and MMSI-Bench, CV-Bench, BLINK).
_SCORE_KEYS = ("score", "accuracy", "MRA:.5:.95:.05")
_CATEGORY_KEYS = ("question_type", "task", "sub_task")
# Where a run may record how many frames each question got.
_FRAME_KEYS = ("num_frames", "frames", "max_num_frames", "nframes")


class RunLoadError(ValueError):
    """A run directory that cannot be read; names the directory, file and line."""


@dataclass(frozen=True)
class QuestionScore:
    question_id: str
    doc_id: int
    question_type: str
    target: str
    answer: str
    score: float
    question: str = ""  # the prompt lmms-eval logged (`input`); "" when it logged none


@dataclass
class TaskRun:
    task: str
    split: str | None
    frames: int | str | None
    questions: list[QuestionScore]
    reported: dict[str, float]  # lmms-eval's aggregated metrics of the task (name → value)


@dataclass
class RunResult:
    label: str
    directory: Path
    results_file: Path
    tasks: dict[str, TaskRun]
    trajectories: dict[tuple[str, int], Trajectory]
    run_info: RunInfo | None
    policy: str | None
    libraries: set[str]
    started: datetime  # aware: run_info's started_at, else lmms-eval's stamp in the zone it used (`dates`)
    trajectories_file: Path | None = None
    issues: list[str] = field(default_factory=list)

    def policy_label(self, task: str) -> str:
        """The policy, and for a chance baseline the split whose answers it drew from
        ('chance_frequency (test-split distribution)': a task without a training split)."""
        source = self.run_info.answer_sources.get(task) if self.run_info else None
        return f"{self.policy or ''} ({source.split}-split distribution)" if source else self.policy or ""

    def trajectories_of(self, task: str) -> list[Trajectory]:
        """The trajectories of the questions lmms-eval scored for `task` (not stale lines of other runs)."""
        run = self.tasks[task]
        return [self.trajectories[(task, q.doc_id)] for q in run.questions if (task, q.doc_id) in self.trajectories]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise RunLoadError(f"{path}: not readable JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise RunLoadError(f"{path}: expected a JSON object")
    return data


def _sample_score(line: dict[str, Any], task: str) -> tuple[str, str, float]:
    """(question id, question type, score) from a samples line: the first metric item that has them."""
    for value in line.values():
        category = next((key for key in _CATEGORY_KEYS if key in value), None) if isinstance(value, dict) else None
        if category is not None:
            for key in _SCORE_KEYS:
                if isinstance(value.get(key), (int, float)) and not isinstance(value.get(key), bool):
                    return str(value.get("id", line["doc_id"])), str(value[category]), float(value[key])
    numbers = [value for key, value in line.items() if key != "doc_id" and isinstance(value, (int, float)) and not isinstance(value, bool)]
    if numbers:
        return str(line["doc_id"]), task, float(numbers[0])
    raise ValueError(f"no per-question score (a metric item with one of {', '.join(_CATEGORY_KEYS)} and a score, or a numeric metric)")


def read_samples(path: Path, task: str) -> list[QuestionScore]:
    questions = []
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, 1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
                question_id, question_type, score = _sample_score(line, task)
            except (json.JSONDecodeError, KeyError, ValueError) as exc:
                raise RunLoadError(f"{path}:{number}: {exc}") from exc
            if not math.isfinite(score):
                raise RunLoadError(f"{path}:{number}: score {score} is not finite")
            response = line.get("filtered_resps", line.get("resps", ""))
            answer = response[0] if isinstance(response, list) and response else response
            prompt = line.get("input")
            questions.append(
                QuestionScore(question_id, int(line["doc_id"]), question_type, str(line.get("target", "")), str(answer), score, prompt if isinstance(prompt, str) else "")
            )
    if not questions:
        raise RunLoadError(f"{path}: no samples")
    return questions


def _frames(run_info: RunInfo | None, config: dict[str, Any]) -> int | str | None:
    kwargs = config.get("lmms_eval_specific_kwargs") or {}
    for source in (run_info.settings if run_info else {}, kwargs, kwargs.get("skill3d") or {}, kwargs.get("default") or {}):
        for key in _FRAME_KEYS:
            if source.get(key) is not None:
                return source[key]
    return None


def _pick_trajectories(directory: Path, samples: dict[str, list[QuestionScore]]) -> Path | None:
    """The trajectories file below `directory` that answers the scored questions; None when there is none."""
    candidates = sorted(directory.rglob("trajectories.jsonl"))
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    wanted = {(task, q.doc_id, q.answer) for task, questions in samples.items() for q in questions}
    coverage = {}
    for path in candidates:
        latest = {(t.task, t.doc_id): t.answer for t in read_trajectories(path)}
        coverage[path] = sum(latest.get((task, doc_id)) == answer for task, doc_id, answer in wanted)
    best = max(coverage.values())
    winners = [path for path, count in coverage.items() if count == best]
    if len(winners) > 1 or best == 0:
        raise RunLoadError(f"{directory}: cannot tell which trajectories belong to the run: {', '.join(map(str, candidates))}; pass the directory of one run")
    return winners[0]


def load_run(directory: Path, label: str | None = None) -> RunResult:
    directory = Path(directory)
    if not directory.is_dir():
        raise RunLoadError(f"{directory}: not a directory")
    results_files = sorted(directory.rglob("*_results.json"), key=lambda p: p.name)
    if not results_files:
        raise RunLoadError(f"{directory}: no lmms-eval results (*_results.json) below it")
    results_file = results_files[-1]
    issues = [f"{len(results_files)} results files, using the newest {results_file.name}"] if len(results_files) > 1 else []
    results = _read_json(results_file)
    date = results_file.name.removesuffix("_results.json")
    configs = results.get("configs") or {}
    samples: dict[str, list[QuestionScore]] = {}
    for task in results.get("results") or {}:
        path = results_file.parent / f"{date}_samples_{task}.jsonl"
        if not path.is_file():
            raise RunLoadError(f"{results_file}: no per-question samples {path.name} for task {task!r} (run lmms-eval with --log_samples)")
        samples[task] = read_samples(path, task)
    if not samples:
        raise RunLoadError(f"{results_file}: no task results")

    trajectories_file = _pick_trajectories(directory, samples)
    trajectories: dict[tuple[str, int], Trajectory] = {}
    run_info: RunInfo | None = None
    if trajectories_file is not None:
        for trajectory in read_trajectories(trajectories_file):
            trajectories[(trajectory.task, trajectory.doc_id)] = trajectory  # a resumed run appends: the last line wins
        info_file = trajectories_file.parent / "run_info.json"
        if info_file.is_file():
            try:
                run_info = read_run_info(info_file)
            except ValueError as exc:
                raise RunLoadError(str(exc)) from exc

    tasks = {}
    for task, questions in samples.items():
        reported = {
            key.split(",")[0]: float(value)
            for key, value in (results["results"][task] or {}).items()
            if "_stderr" not in key and isinstance(value, (int, float)) and not isinstance(value, bool)
        }
        config = configs.get(task) or {}
        tasks[task] = TaskRun(task, config.get("test_split"), _frames(run_info, config), questions, reported)
        if trajectories_file is not None:
            disagree = [q.doc_id for q in questions if (task, q.doc_id) in trajectories and trajectories[(task, q.doc_id)].answer != q.answer]
            missing = [q.doc_id for q in questions if (task, q.doc_id) not in trajectories]
            if disagree:
                issues.append(f"{task}: {len(disagree)} trajectory answers differ from lmms-eval's (doc_ids {disagree[:5]})")
            if missing:
                issues.append(f"{task}: {len(missing)} scored questions have no trajectory (doc_ids {missing[:5]})")

    scored = [trajectories[(task, q.doc_id)] for task, qs in samples.items() for q in qs if (task, q.doc_id) in trajectories]
    libraries = {t.library_sha256 for t in scored if t.library_sha256}
    if run_info and run_info.library_sha256:
        libraries.add(run_info.library_sha256)
    if len(libraries) > 1:
        issues.append(f"mixes {len(libraries)} skill libraries: {', '.join(sorted(h[:12] for h in libraries))}")
    policies = {t.policy for t in scored} or ({run_info.policy} - {None} if run_info else set())
    if len(policies) > 1:
        issues.append(f"mixes policies: {', '.join(sorted(policies))}")
    try:
        started = run_started(run_info, date, results, str(results_file))
    except RunDateError as exc:
        raise RunLoadError(str(exc)) from exc
    return RunResult(
        label=label or directory.resolve().name,
        directory=directory,
        results_file=results_file,
        tasks=tasks,
        trajectories=trajectories,
        run_info=run_info,
        policy=next(iter(policies)) if len(policies) == 1 else None,
        libraries=libraries,
        started=started,
        trajectories_file=trajectories_file,
        issues=issues,
    )
