"""`lmms-eval --model skill3d` exits with the run's status, although lmms-eval 0.7.3 catches a
model's exceptions and exits 0.

A run that cannot do its job leaves through `SystemExit` with a one-line reason: lmms-eval's
`except Exception` lets it through. A run whose questions were all answered or recorded as
failed lets lmms-eval score and write its results first: the run's outcome (failed count, top
reasons) is added to the results file as it is saved, and once the last file is written (the
samples of the last task, with `--log_samples`) the process exits with `EXIT_FAILED_QUESTIONS`
when too many questions failed. Should lmms-eval never reach its save (it failed after us), an
exit hook still ends the process non-zero.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import Any, NoReturn

from skill3d_eval.outcome import EXIT_FAILED_QUESTIONS, RunAborted
from skill3d_eval.records import RunOutcome

RESULTS_KEY = "skill3d"

_outcomes: list[RunOutcome] = []
_pending_tasks: set[str] = set()
_state = threading.Lock()


def abort(error: RunAborted) -> NoReturn:
    print(f"skill3d: {error}", file=sys.stderr, flush=True)
    raise SystemExit(error.exit_code)


def record(outcome: RunOutcome, run_dir: os.PathLike | str) -> None:
    """Remember the outcome for the results file and the exit status; say it now, loudly if failed."""
    with _state:
        _outcomes.append(outcome)
    verdict = "" if outcome.ok else "RUN FAILED: "
    print(f"skill3d: {verdict}{outcome.summary()}; run directory: {run_dir}", file=sys.stderr, flush=True)


def combined() -> RunOutcome | None:
    with _state:
        if not _outcomes:
            return None
        top = [reason for outcome in _outcomes for reason in outcome.top_failures]
        return RunOutcome(
            questions=sum(o.questions for o in _outcomes),
            failed=sum(o.failed for o in _outcomes),
            max_failed_fraction=min(o.max_failed_fraction for o in _outcomes),
            top_failures=sorted(top, key=lambda reason: -reason.count)[:3],
        )


def _exit_if_failed() -> None:
    outcome = combined()
    with _state:
        _outcomes.clear()
    if outcome is not None and not outcome.ok:
        print(f"skill3d: exiting with status {EXIT_FAILED_QUESTIONS}: {outcome.summary()}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_FAILED_QUESTIONS)


def _at_exit() -> None:
    outcome = combined()
    if outcome is not None and not outcome.ok:
        print(f"skill3d: lmms-eval did not save results; exiting with status {EXIT_FAILED_QUESTIONS}: {outcome.summary()}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(EXIT_FAILED_QUESTIONS)


def install() -> None:
    """Wrap the evaluation tracker's two save methods (once per process)."""
    from lmms_eval.loggers.evaluation_tracker import EvaluationTracker

    save_aggregated, save_samples = EvaluationTracker.save_results_aggregated, EvaluationTracker.save_results_samples
    if getattr(save_aggregated, "_skill3d", False):
        return

    def save_results_aggregated(self: Any, results: dict, samples: dict | None, datetime_str: str) -> None:
        outcome = combined()
        if outcome is not None:
            results[RESULTS_KEY] = outcome.model_dump(mode="json")
        save_aggregated(self, results, samples, datetime_str)
        with _state:
            _pending_tasks.clear()
            _pending_tasks.update(results.get("configs", {}) if samples is not None else ())
        if not _pending_tasks:
            _exit_if_failed()

    def save_results_samples(self: Any, task_name: str, samples: dict) -> None:
        save_samples(self, task_name, samples)
        with _state:
            _pending_tasks.discard(task_name)
            last = not _pending_tasks
        if last:
            _exit_if_failed()

    save_results_aggregated._skill3d = True  # type: ignore[attr-defined]
    EvaluationTracker.save_results_aggregated = save_results_aggregated
    EvaluationTracker.save_results_samples = save_results_samples
    atexit.register(_at_exit)
