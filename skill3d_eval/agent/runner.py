"""Runs a policy over many samples at once and records every trajectory.

A sample that fails (expert down, endpoint error, no workflow) is recorded with its reason
and answered with an empty string, which every scorer counts as wrong: it never drops out of
the denominator and never stops the other samples.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import openai
from tqdm import tqdm

from skill3d_eval.agent.program import ProgramError
from skill3d_eval.agent.records import Sample, Trajectory
from skill3d_eval.agent.trajectory_log import TrajectoryLog
from skill3d_eval.experts.client import ExpertsClient
from skill3d_eval.experts.errors import ExpertError
from skill3d_eval.tools import ToolContext, ToolError

RECORDED_FAILURES = (ProgramError, ToolError, ExpertError, openai.OpenAIError)


class Policy(Protocol):
    name: str

    def run(self, sample: Sample, context: ToolContext, trajectory: Trajectory) -> Trajectory: ...


class Runner:
    def __init__(self, policy: Policy, experts: ExpertsClient, log: TrajectoryLog, *, run_id: str, concurrency: int):
        self.policy = policy
        self.experts = experts
        self.log = log
        self.run_id = run_id
        self.concurrency = concurrency

    def run(self, samples: Sequence[Sample]) -> list[Trajectory]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool, tqdm(total=len(samples), desc="skill3d", unit="q") as bar:
            futures = [pool.submit(self._run_one, sample) for sample in samples]
            results = []
            for future in futures:
                results.append(future.result())
                bar.update(1)
        return results

    def _run_one(self, sample: Sample) -> Trajectory:
        started = time.perf_counter()
        trajectory = Trajectory(
            task=sample.task,
            doc_id=sample.doc_id,
            sample_id=sample.sample_id,
            question=sample.question,
            task_type=sample.task_type,
            scene=sample.scene,
            policy=self.policy.name,
            run_id=self.run_id,
        )
        try:
            self.policy.run(sample, ToolContext(sample, self.experts), trajectory)
        except RECORDED_FAILURES as exc:
            trajectory.stop_reason = "error"
            trajectory.error = f"{type(exc).__name__}: {exc}"
            trajectory.answer = ""
        trajectory.seconds = time.perf_counter() - started
        self.log.append(trajectory)
        return trajectory
