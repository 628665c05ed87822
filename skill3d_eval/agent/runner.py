"""Runs a policy over many samples at once and records every trajectory.

A sample that fails (expert down, endpoint error after retries, no workflow, bad input) is
recorded with its reason and answered with an empty string, which every scorer counts as
wrong: it never drops out of the denominator and never stops the other samples. Samples the
run directory already answered under the same settings (same content hash, same settings
fingerprint) are not asked again.

With a `scene_memory` store every question's tools share expert results and observations with
the run's other questions on the same scene and split (`tools.memory`). It starts empty on a
resumed run: answered questions are not re-read, so the first new question on a scene computes
what it needs again (the program policy answers the same either way; an LLM's guidance lists
the facts established since).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import openai
from tqdm import tqdm

from skill3d_eval.agent.errors import LLMResponseError
from skill3d_eval.agent.program import ProgramError
from skill3d_eval.records import Sample, SampleError, SampleIdentity, Trajectory
from skill3d_eval.trajectory_log import TrajectoryLog
from skill3d_eval.experts import Experts
from skill3d_eval.experts.errors import ExpertError
from skill3d_eval.tools import SceneMemoryStore, ToolContext, ToolError


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


@dataclass
class Runner:
    """`interrupt_grace_s`: after Ctrl-C no new sample starts, and samples in flight get this long
    to finish and be recorded; the rest are left to the rerun (workers are daemon threads, so an
    endpoint call that hangs cannot keep the process alive)."""

    policy: Policy
    experts: Experts
    log: TrajectoryLog
    run_id: str
    fingerprint: str
    concurrency: int
    resume: bool = True
    library_sha256: str | None = None
    interrupt_grace_s: float = 10.0
    scene_memory: SceneMemoryStore | None = None

    def run(self, samples: Sequence[SampleIdentity], load: Callable[[int], Sample]) -> list[Trajectory]:
        """Answer every sample identified in `samples`; `load(i)` builds sample i only when it must run."""
        done = self.log.answered(self.fingerprint) if self.resume else {}
        results: list[Trajectory | None] = [done.get(s.content_hash) if s.content_hash else None for s in samples]
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()
        pending = [i for i, result in enumerate(results) if result is None]
        for index in pending:
            todo.put(index)
        finished: queue.SimpleQueue[tuple[int, Trajectory | BaseException]] = queue.SimpleQueue()
        stop = threading.Event()

        def work() -> None:
            while not stop.is_set():
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    finished.put((index, self._run_one(samples[index], load, index)))
                except BaseException as exc:  # a bug, not a recorded failure: re-raised in the caller's thread
                    finished.put((index, exc))

        workers = [threading.Thread(target=work, name=f"skill3d-{n}", daemon=True) for n in range(min(self.concurrency, len(pending)))]
        for worker in workers:
            worker.start()
        with tqdm(total=len(samples), initial=len(samples) - len(pending), desc="skill3d", unit="q") as bar:
            failed = tokens = tool_calls = 0
            try:
                for _ in pending:
                    index, outcome = _next(finished)
                    if isinstance(outcome, BaseException):
                        raise outcome
                    results[index] = outcome
                    failed += outcome.stop_reason == "error"
                    tokens += sum(t.prompt_tokens + t.completion_tokens for t in outcome.turns)
                    tool_calls += outcome.tool_calls
                    bar.set_postfix(failed=failed, tokens=tokens, tool_calls=tool_calls, refresh=False)
                    bar.update(1)
            except BaseException:
                stop.set()
                deadline = time.monotonic() + self.interrupt_grace_s
                for worker in workers:
                    worker.join(max(0.0, deadline - time.monotonic()))
                raise
        return [result for result in results if result is not None]

    def _run_one(self, identity: SampleIdentity, load: Callable[[int], Sample], index: int) -> Trajectory:
        started = time.perf_counter()
        trajectory = Trajectory(
            task=identity.task, doc_id=identity.doc_id, sample_id=identity.sample_id, question=identity.question,
            task_type=None, scene=identity.scene, policy=self.policy.name, run_id=self.run_id, fingerprint=self.fingerprint,
            sample_hash=identity.content_hash, library_sha256=self.library_sha256,
        )
        try:
            sample = load(index)
            trajectory.question, trajectory.task_type, trajectory.scene = sample.question, sample.task_type, sample.scene
            trajectory.options = list(sample.options)
            self.policy.run(sample, ToolContext(sample, self.experts, self.scene_memory), trajectory)
        except RECORDED_FAILURES as exc:
            trajectory.stop_reason = "error"
            trajectory.error = f"{type(exc).__name__}: {exc}"
            trajectory.answer = ""
        trajectory.seconds = time.perf_counter() - started
        self.log.append(trajectory)
        return trajectory


def _next(finished: queue.SimpleQueue) -> tuple[int, Trajectory | BaseException]:
    """Wait for the next finished sample in short slices, so Ctrl-C reaches the waiting thread at once."""
    while True:
        try:
            return finished.get(timeout=0.2)
        except queue.Empty:
            continue
