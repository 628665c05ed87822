"""Per-run metrics from trajectories: tool use, grounding, cost and failures (see README.md)."""

from skill3d_eval.metrics.evidence import EVIDENCE_RULES, evidence_calls, used_tool_evidence
from skill3d_eval.metrics.readings import Question, Rule, ToolResult
from skill3d_eval.metrics.run_metrics import RunMetrics, compute_run_metrics
from skill3d_eval.metrics.tool_calls import CallFailure, call_failure

__all__ = [
    "EVIDENCE_RULES",
    "CallFailure",
    "Question",
    "Rule",
    "RunMetrics",
    "ToolResult",
    "call_failure",
    "compute_run_metrics",
    "evidence_calls",
    "used_tool_evidence",
]
