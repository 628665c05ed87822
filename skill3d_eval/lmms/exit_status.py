"""`lmms-eval --model skill3d` exits with the run's status, although lmms-eval 0.7.3 catches a
model's exceptions and exits 0.

A run that cannot do its job leaves through `SystemExit` with a one-line reason: lmms-eval's
`except Exception` lets it through. A run whose questions were all answered or recorded as
failed lets lmms-eval score and write its results first: the run's outcome (failed count, top
reasons) is added to the results file as it is saved, and once the last file is written (the
samples of the last task, with `--log_samples`) the process exits with `EXIT_FAILED_QUESTIONS`
when too many questions failed. Should lmms-eval never reach its save (it failed after us), an
exit hook still ends the process non-zero. That hook also ends every run, success or not, with
its report on stderr (`final_report`): the run directory, the failed count and the first failed
questions by sample id, after lmms-eval's own output where a reader looks last.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import Any, NoReturn

from skill3d_eval.outcome import EXIT_FAILED_QUESTIONS, FIRST_FAILED, RunAborted
from skill3d_eval.records import RunOutcome

RESULTS_KEY = "skill3d"

_outcomes: list[RunOutcome] = []
_run_dirs: list[str] = []
_results_saved = False
_pending_tasks: set[str] = set()
_state = threading.Lock()


def abort(error: RunAborted) -> NoReturn:
    print(f"skill3d: {error}", file=sys.stderr, flush=True)
    raise SystemExit(error.exit_code)


def record(outcome: RunOutcome, run_dir: os.PathLike | str) -> None:
    """Remember the outcome for the results file and the exit status; say it now, loudly if failed."""
    with _state:
        _outcomes.append(outcome)
        if str(run_dir) not in _run_dirs:
            _run_dirs.append(str(run_dir))
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
            first_failed=[question for outcome in _outcomes for question in outcome.first_failed][:FIRST_FAILED],
        )


def final_report(outcome: RunOutcome, run_dirs: list[str], *, results_saved: bool) -> list[str]:
    """The run's last lines; the last one says how it ended (scripts read the last `skill3d:` line)."""
    lines = [f"skill3d: run directory: {run_dir} (trajectories.jsonl, run_info.json)" for run_dir in run_dirs]
    lines += [f"skill3d: failed question {q.sample_id}: {q.reason}: {' '.join(q.error.split())[:200]}" for q in outcome.first_failed]
    if outcome.ok:
        lines.append(f"skill3d: run finished: {outcome.summary()}")
    elif results_saved:
        lines.append(f"skill3d: RUN FAILED, exiting with status {EXIT_FAILED_QUESTIONS}: {outcome.summary()}")
    else:
        lines.append(f"skill3d: RUN FAILED, lmms-eval did not save results; exiting with status {EXIT_FAILED_QUESTIONS}: {outcome.summary()}")
    return lines


def _exit_if_failed() -> None:
    global _results_saved
    _results_saved = True
    outcome = combined()
    if outcome is not None and not outcome.ok:
        raise SystemExit(EXIT_FAILED_QUESTIONS)


def _at_exit() -> None:
    outcome = combined()
    if outcome is None:
        return
    sys.stdout.flush()
    print("\n".join(final_report(outcome, _run_dirs, results_saved=_results_saved)), file=sys.stderr, flush=True)
    if not outcome.ok and not _results_saved:
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
