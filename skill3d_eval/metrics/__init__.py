"""Per-run metrics from trajectories: tool use, grounding, cost and failures (see README.md)."""

from skill3d_eval.metrics.evidence import evidence_calls, question_options, used_tool_evidence
from skill3d_eval.metrics.run_metrics import RunMetrics, compute_run_metrics
from skill3d_eval.metrics.tool_calls import CallFailure, call_failure

__all__ = ["CallFailure", "RunMetrics", "call_failure", "compute_run_metrics", "evidence_calls", "question_options", "used_tool_evidence"]
