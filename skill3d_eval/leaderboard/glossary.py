"""What every column of the leaderboard means: the tooltips of the HTML page and its glossary,
and the glossary of the Markdown file, from one place.

The cost definitions are those of `skill3d_eval/metrics/README.md`, shortened to a sentence.
"""

from __future__ import annotations

from skill3d_eval.leaderboard.layouts import Layout
from skill3d_eval.leaderboard.table import COST_COLUMNS as COST_TITLES

_MRA = (
    "mean relative accuracy (MRA): the share of thresholds θ in 0.50, 0.55, …, 0.95 at which "
    "|answer − truth| / truth ≤ 1 − θ, averaged over questions"
)
_ACCURACY = "accuracy: the share of questions whose chosen option is the right one"

SCORE_COLUMNS = {
    "avg": "the benchmark's overall score; VSI-Bench layouts: the unweighted mean of the columns, other tasks: the mean over questions",
    "counting": f"object_counting: how many of a category are in the scene; {_MRA}",
    "abs dist": f"object_abs_distance: metres between two objects; {_MRA}",
    "obj size": f"object_size_estimation: an object's longest side in cm; {_MRA}",
    "room size": f"room_size_estimation: the floor area in m²; {_MRA}",
    "rel dist": f"object_rel_distance: which option is closest to the target; {_ACCURACY}",
    "rel dir": f"object_rel_direction: left/right/back or quadrant from a viewpoint; {_ACCURACY}, the mean of the easy, medium and hard levels",
    "route plan": f"route_planning: the turns of a route between objects; {_ACCURACY}",
    "appr order": f"obj_appearance_order: the order in which categories first appear in the video; {_ACCURACY}",
}

COST_DEFINITIONS = {
    "tool_calls_per_question": "mean number of tool calls per question, valid or not",
    "effective_tool_usage": (
        "share of questions whose tools returned the evidence their type requires and whose answer agrees with it "
        "(within the tightest MRA band); a lower bound on grounding"
    ),
    "invalid_tool_call_rate": "invalid calls (unknown tool, arguments failing the tool's schema) / all calls; n/a when no call was made",
    "turns_per_question": "mean number of turns: LLM replies, or workflow steps for the program policy",
    "prompt_tokens_per_question": "mean prompt tokens per question as the endpoint reported them",
    "completion_tokens_per_question": "mean completion tokens per question as the endpoint reported them",
    "seconds_per_question": "mean wall time of the policy for one question",
    "expert_seconds_per_question": "mean time inside tool calls: expert requests plus the geometry on their results",
    "cache_hit_rate": "expert result cache hits / lookups, when the run used a cache; else n/a",
    "errors": "failed questions by exception type, max_turns, and failed tool calls as tool:<kind>",
}

RUN_COLUMNS = {
    "rank": "position on the sorted column over all ranked runs; equal scores as shown share a rank",
    "run": "the run directory's name",
    "policy": "skill3d (LLM + tools + skills), tool_agent (LLM + tools), program (skill workflows, no LLM), direct (LLM only), chance_* baselines",
    "model": "the LLM that answered (settings.model); - for policies without one",
    "endpoint": "host[:port] of the LLM endpoint (never a key or path); in-process for llm_backend=transformers",
    "experts": "the backend the run's experts were served with (oracle, real, ...), and the experts on another one",
    "frames": "frames per question the run was given",
    "library": "first 12 hex digits of the frozen skill library's sha256",
    "date": "when the run started, in this machine's local time and offset",
    "differs": "the conditions in which the run differs from the reference (policy, llm, experts, frames, library, settings)",
}

STATISTICS = {
    "n": "questions behind a column's score: a score from 5 questions is far less certain than one from 500",
    "[low, high]": "95% bootstrap confidence interval over questions, resampled within each question type",
    "Δ avg vs ref": "difference of avg from the reference run on the same questions, with the paired-bootstrap two-sided p-value",
    "better / worse / n.s.": "the difference is significant at p < 0.05 in that direction, or not significant",
    "groups": (
        "baselines (chance levels); API models (an LLM at a hosted endpoint); open models (llm_backend=transformers or an "
        "endpoint on this machine / a private network, e.g. vllm serve); ours (program, or skill3d with a skill library)"
    ),
}


def score_definition(column: str, layout: Layout) -> str:
    """A column's definition; a task without a published layout has one column per question type."""
    if column == "avg":
        return f"{SCORE_COLUMNS['avg']} (here: {'the mean of the columns' if layout.average == 'columns' else 'the mean over questions'})"
    return SCORE_COLUMNS.get(column, f"questions of type {column}: the mean of their per-question scores")


def entries(score_columns: dict[str, str]) -> list[tuple[str, str]]:
    """(term, definition) for the glossary, in reading order: statistics, run columns, the score
    columns given (label -> definition), costs."""
    return [
        *STATISTICS.items(),
        *RUN_COLUMNS.items(),
        *score_columns.items(),
        *((COST_TITLES[key], definition) for key, definition in COST_DEFINITIONS.items()),
    ]
