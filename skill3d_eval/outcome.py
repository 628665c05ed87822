"""How a run ended, said so that a script running hundreds of them can tell a broken run from a bad model.

A run that could not do its job raises `RunAborted` with a one-line reason and an exit status
of its kind; the lmms-eval adapter turns it into the process's exit status (lmms-eval itself
swallows model exceptions and exits 0). A run whose questions were answered but too many of
them failed still writes its results, then exits with `EXIT_FAILED_QUESTIONS`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from skill3d_eval.records import FailedQuestion, FailureReason, RunOutcome, Trajectory

EXIT_CONFIGURATION = 2  # invalid --model_args, library, output directory, a busy run directory
EXIT_PREFLIGHT = 3  # an endpoint the run needs (Triton, its models, the LLM) or the dataset's media is unusable
EXIT_FAILED_QUESTIONS = 4  # more than max_failed_fraction of the questions ended in a recorded error
TOP_FAILURES = 3
FIRST_FAILED = 5


class RunAborted(Exception):
    """The run cannot do its job; `str(self)` is the one-line reason."""

    def __init__(self, reason: str, exit_code: int):
        super().__init__(" ".join(reason.split()))
        self.exit_code = exit_code


class PreflightError(RunAborted):
    def __init__(self, reason: str):
        super().__init__(reason, EXIT_PREFLIGHT)


def summarize(trajectories: Sequence[Trajectory], max_failed_fraction: float) -> RunOutcome:
    failed = [t for t in trajectories if t.stop_reason == "error"]
    kinds: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for trajectory in failed:
        kinds[trajectory.error_kind] += 1
        examples.setdefault(trajectory.error_kind, trajectory.error or "error")
    return RunOutcome(
        questions=len(trajectories),
        failed=len(failed),
        max_failed_fraction=max_failed_fraction,
        top_failures=[FailureReason(reason=kind, count=count, example=examples[kind]) for kind, count in kinds.most_common(TOP_FAILURES)],
        first_failed=[FailedQuestion(sample_id=t.sample_id, reason=t.error_kind, error=t.error or "error") for t in failed[:FIRST_FAILED]],
    )
