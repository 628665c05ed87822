"""Reward functions for GRPO, with TRL's signature: `f(completions, **dataset_columns) -> list[float]`.

- `answer_reward`: the benchmark's own metric on the answer the agent would return (the final
  reply reduced by `agent.answer.normalize_answer`, then `skill3d_eval.scoring.score`, the
  scorer the task YAMLs call), so a reward and a benchmark score can never disagree.
- `format_reward`: tool calls that parse and pass their tool's JSON schema, and a final answer
  in the benchmark's bare form (a number, or one option letter).
- `tool_use_reward`: evidence was gathered and used (the answer is found in an observation),
  without invalid or repeated calls.

A completion is either TRL's conversational form (a list of messages: assistant turns with
`tool_calls` or `<tool_call>` tags, `tool` messages with the observation JSON) or plain text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from skill3d_eval.agent.answer import normalize_answer
from skill3d_eval.agent.tool_tags import parse_tool_tags
from skill3d_eval.scoring import answer_kind, extract_number, score
from skill3d_eval.tools import ToolArgumentError, ToolSet, default_toolset

_TAG = re.compile(r"<tool_call>.*?</tool_call>", re.DOTALL)
_BARE_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
INVALID_CALL_PENALTY = 0.25
REDUNDANT_CALL_PENALTY = 0.25
EVIDENCE_TOLERANCE = 0.05


@lru_cache(maxsize=1)
def _tools() -> ToolSet:
    return default_toolset()


@dataclass
class Call:
    name: str
    arguments: dict[str, Any] | str
    result: str | None = None


@dataclass
class Episode:
    """What a completion did: its tool calls (with results when executed) and its final reply."""

    calls: list[Call] = field(default_factory=list)
    final: str | None = None


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(block.get("text") or "" for block in content if isinstance(block, dict))


def _native_calls(message: dict[str, Any]) -> list[Call]:
    calls = []
    for call in message.get("tool_calls") or []:
        function = call.get("function", call)
        calls.append(Call(name=str(function.get("name")), arguments=function.get("arguments", {})))
    return calls


def episode_of(completion: str | Sequence[dict[str, Any]]) -> Episode:
    messages = [{"role": "assistant", "content": completion}] if isinstance(completion, str) else list(completion)
    episode = Episode()
    pending: list[Call] = []
    for message in messages:
        if message.get("role") == "assistant":
            text = _text(message.get("content"))
            calls = _native_calls(message) or [Call(c.name, c.arguments) for c in parse_tool_tags(text, 0)]
            episode.calls.extend(calls)
            pending = list(calls)
            remainder = _TAG.sub("", text).strip()
            episode.final = None if calls else (remainder or None)
        elif message.get("role") == "tool" and pending:
            pending.pop(0).result = _text(message.get("content"))
    return episode


def _column(values: Sequence[Any] | None, count: int) -> list[Any]:
    return list(values) if values is not None else [None] * count


def _row(ground_truth: str | None, options: Sequence[str] | None, question_type: str | None) -> dict[str, Any]:
    """The benchmark row behind a completion, from the columns the SFT export writes (VSI-Bench's
    schema); the form rewards leave `ground_truth` empty, as they never read it."""
    return {"ground_truth": ground_truth, "options": options, "question_type": question_type}


def answer_reward(completions: list, ground_truth: list[str], options: list | None = None, question_type: list | None = None, **kwargs: Any) -> list[float]:
    rewards = []
    count = len(completions)
    for completion, truth, opts, qtype in zip(completions, ground_truth, _column(options, count), _column(question_type, count), strict=True):
        final = episode_of(completion).final
        if final is None:
            rewards.append(0.0)
            continue
        row = _row(truth, opts, qtype)
        answer = normalize_answer(final, answer_kind(row), list(opts or []))
        rewards.append(score(row, answer).value)
    return rewards


def well_formed(call: Call, tools: ToolSet) -> bool:
    tool = tools.tools.get(call.name)
    if tool is None:
        return False
    try:
        tool.parse(call.arguments)
    except ToolArgumentError:
        return False
    return True


def answer_form(final: str | None, options: Sequence[str] | None, question_type: str | None = None) -> float:
    """1 for a bare answer (a number, or one option letter), 0.5 when one can still be extracted, else 0."""
    if final is None:
        return 0.0
    text = final.strip()
    if answer_kind(_row(None, options, question_type)) == "choice":
        letters = [chr(ord("A") + i) for i in range(len(options or []))] or list("ABCD")
        if text in letters:
            return 1.0
        return 0.5 if normalize_answer(text, "choice", list(options)) in letters else 0.0
    if _BARE_NUMBER.fullmatch(text):
        return 1.0
    return 0.5 if extract_number(text) is not None else 0.0


def format_reward(completions: list, options: list | None = None, question_type: list | None = None, **kwargs: Any) -> list[float]:
    """Half for well-formed tool calls (share of them; full when none), half for the final answer's form."""
    tools = _tools()
    rewards = []
    count = len(completions)
    for completion, opts, qtype in zip(completions, _column(options, count), _column(question_type, count), strict=True):
        episode = episode_of(completion)
        calls_ok = sum(well_formed(c, tools) for c in episode.calls) / len(episode.calls) if episode.calls else 1.0
        rewards.append(0.5 * calls_ok + 0.5 * answer_form(episode.final, opts, qtype))
    return rewards


def _failed(call: Call, tools: ToolSet) -> bool:
    if not well_formed(call, tools):
        return True
    if call.result is None:
        return False
    try:
        payload = json.loads(call.result)
    except json.JSONDecodeError:
        return False
    return isinstance(payload, dict) and "error" in payload


def _evidence_used(episode: Episode, kind: str, tools: ToolSet) -> bool:
    """A numeric answer must appear (within 5%) among the numbers the successful calls returned."""
    results = [c.result for c in episode.calls if c.result is not None and not _failed(c, tools)]
    if not results or episode.final is None:
        return False
    if kind == "choice":
        return True
    answer = extract_number(normalize_answer(episode.final, "number"))
    if answer is None:
        return False
    numbers = [float(n) for result in results for n in _NUMBER.findall(result)]
    return any(math.isclose(answer, n, rel_tol=EVIDENCE_TOLERANCE, abs_tol=1e-6) for n in numbers)


def tool_use_reward(completions: list, options: list | None = None, question_type: list | None = None, **kwargs: Any) -> list[float]:
    """Half for a successful call, half for an answer backed by an observation, minus invalid and repeated calls."""
    tools = _tools()
    rewards = []
    count = len(completions)
    for completion, opts, qtype in zip(completions, _column(options, count), _column(question_type, count), strict=True):
        episode = episode_of(completion)
        if not episode.calls:
            rewards.append(0.0)
            continue
        seen, redundant, invalid = set(), 0, 0
        for call in episode.calls:
            signature = (call.name, call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments, sort_keys=True))
            redundant += signature in seen
            seen.add(signature)
            invalid += _failed(call, tools)
        succeeded = len(episode.calls) > invalid
        reward = 0.5 * succeeded + 0.5 * _evidence_used(episode, answer_kind(_row(None, opts, qtype)), tools) - INVALID_CALL_PENALTY * invalid - REDUNDANT_CALL_PENALTY * redundant
        rewards.append(min(1.0, max(0.0, reward)))
    return rewards


REWARDS = {"answer": answer_reward, "format": format_reward, "tool_use": tool_use_reward}
