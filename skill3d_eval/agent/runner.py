"""Runs a policy over many samples at once and records every trajectory.

A sample that fails (expert down, endpoint error after retries, no workflow, bad input) is
recorded with its reason and answered with an empty string, which every scorer counts as
wrong: it never drops out of the denominator and never stops the other samples. Samples the
run directory already answered under the same settings are not asked again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Protocol

import openai
from tqdm import tqdm

from skill3d_eval.agent.errors import LLMResponseError
from skill3d_eval.records import SampleError
from skill3d_eval.agent.program import ProgramError
from skill3d_eval.records import Sample, Trajectory
from skill3d_eval.trajectory_log import TrajectoryLog
from skill3d_eval.experts.client import ExpertsClient
from skill3d_eval.experts.errors import ExpertError
from skill3d_eval.tools import ToolContext, ToolError


RECORDED_FAILURES = (ProgramError, ToolError, ExpertError, openai.OpenAIError, LLMResponseError, SampleError)


class Policy(Protocol):
    name: str

    def run(self, sample: Sample, context: ToolContext, trajectory: Trajectory) -> Trajectory: ...


class PolicyByTask:
    """One policy per lmms-eval task, for baselines that learn from each task's own training split."""

    def __init__(self, policies: dict[str, Policy]):
        self.policies = policies
        self.name = next(iter(policies.values())).name if policies else "none"

    def run(self, sample: Sample, context: ToolContext, trajectory: Trajectory) -> Trajectory:
        return self.policies[sample.task].run(sample, context, trajectory)


class Runner:
    def __init__(self, policy: Policy, experts: ExpertsClient, log: TrajectoryLog, *, run_id: str, fingerprint: str, concurrency: int, resume: bool = True):
        self.policy = policy
        self.experts = experts
        self.log = log
        self.run_id = run_id
        self.fingerprint = fingerprint
        self.concurrency = concurrency
        self.resume = resume
        self._progress_lock = threading.Lock()

    def run(self, keys: Sequence[tuple[str, int, str]], load: Callable[[int], Sample]) -> list[Trajectory]:
        """Answer every (task, doc_id, sample_id) in `keys`; `load(i)` builds sample i only when it must run."""
        done = self.log.answered(self.fingerprint) if self.resume else {}
        results: list[Trajectory | None] = [done.get((task, doc_id)) for task, doc_id, _ in keys]
        pending = [i for i, result in enumerate(results) if result is None]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool, tqdm(total=len(keys), initial=len(keys) - len(pending), desc="skill3d", unit="q") as bar:
            futures = {pool.submit(self._run_one, keys[i], load, i): i for i in pending}
            failed = tokens = tool_calls = 0
            for future in as_completed(futures):
                trajectory = future.result()
                results[futures[future]] = trajectory
                failed += trajectory.stop_reason == "error"
                tokens += sum(t.prompt_tokens + t.completion_tokens for t in trajectory.turns)
                tool_calls += trajectory.tool_calls
                bar.set_postfix(failed=failed, tokens=tokens, tool_calls=tool_calls, refresh=False)
                bar.update(1)
        return [result for result in results if result is not None]

    def _run_one(self, key: tuple[str, int, str], load: Callable[[int], Sample], index: int) -> Trajectory:
        task, doc_id, sample_id = key
        started = time.perf_counter()
        trajectory = Trajectory(
            task=task, doc_id=doc_id, sample_id=sample_id, question="", task_type=None, scene=None,
            policy=self.policy.name, run_id=self.run_id, fingerprint=self.fingerprint,
        )
        try:
            sample = load(index)
            trajectory.question, trajectory.task_type, trajectory.scene = sample.question, sample.task_type, sample.scene
            self.policy.run(sample, ToolContext(sample, self.experts), trajectory)
        except RECORDED_FAILURES as exc:
            trajectory.stop_reason = "error"
            trajectory.error = f"{type(exc).__name__}: {exc}"
            trajectory.answer = ""
        trajectory.seconds = time.perf_counter() - started
        self.log.append(trajectory)
        return trajectory
