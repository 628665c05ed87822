"""Baseline policies a leaderboard needs beside the agent: chance levels and the LLM without tools.

Chance levels follow the VSI-Bench paper: *chance (random)* picks an option uniformly at random;
*chance (frequency)* always gives the answer most frequent in the training split for the
question's type. The paper leaves the random level of numerical questions undefined; ours draws
uniformly between the smallest and largest training answer of the type (integers for integer
types), so every question still gets an answer. For a numerical type, "most frequent" means the
mode when the training answers are integers (counts) and their mean otherwise (continuous
measurements rarely repeat). Both read only the training split, never the question's truth.
`direct` is the same chat model as the agent with the same images and question, and no tools.
"""

from __future__ import annotations

import hashlib
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from skill3d_eval.agent.answer import format_number
from skill3d_eval.records import SampleError
from skill3d_eval.agent.loop import LLMPolicy
from skill3d_eval.agent.rate_limit import RateLimiter
from skill3d_eval.records import Sample, Trajectory
from skill3d_eval.llm import ChatEndpoint
from skill3d_eval.tools import ToolContext, ToolSet

_OPTION_PREFIX = re.compile(r"^\(?([A-Z])\)?[.:)]\s*")


class TrainingDataError(ValueError):
    """A training document the chance baselines cannot read; names the row and field."""


def _split_option(option: str, index: int) -> tuple[str, str]:
    text = str(option).strip()
    match = _OPTION_PREFIX.match(text)
    letter = match.group(1) if match else chr(ord("A") + index)
    return letter, " ".join(_OPTION_PREFIX.sub("", text).lower().split()).rstrip(".")


@dataclass
class TypeAnswers:
    """The training answers of one question type: numbers, or the chosen options' texts and letters."""

    numbers: list[float] = field(default_factory=list)
    texts: Counter[str] = field(default_factory=Counter)
    letters: Counter[str] = field(default_factory=Counter)

    @property
    def integers(self) -> bool:
        return bool(self.numbers) and all(value.is_integer() for value in self.numbers)


def training_answers(docs: Iterable[Mapping[str, Any]]) -> dict[str, TypeAnswers]:
    """Answers per question type from training documents (`question_type`, `ground_truth`, `options`)."""
    by_type: dict[str, TypeAnswers] = {}
    for row, doc in enumerate(docs):
        for key in ("question_type", "ground_truth"):
            if doc.get(key) is None:
                raise TrainingDataError(f"training doc {row}: missing {key!r}")
        answers = by_type.setdefault(str(doc["question_type"]), TypeAnswers())
        truth = str(doc["ground_truth"]).strip()
        options = [_split_option(option, i) for i, option in enumerate(list(doc.get("options") if doc.get("options") is not None else []))]
        if not options:
            try:
                answers.numbers.append(float(truth))
            except ValueError:
                raise TrainingDataError(f"training doc {row}: numerical ground_truth {truth!r} is not a number") from None
            continue
        chosen = next(((letter, text) for letter, text in options if letter == truth.upper()), None)
        chosen = chosen or next(((letter, text) for letter, text in options if text == _split_option(truth, 0)[1]), None)
        if chosen is None:
            raise TrainingDataError(f"training doc {row}: ground_truth {truth!r} is none of its options")
        answers.letters[chosen[0]] += 1
        answers.texts[chosen[1]] += 1
    if not by_type:
        raise TrainingDataError("no training documents: the chance baselines need the training split")
    return by_type


def _answers_of(table: dict[str, TypeAnswers], sample: Sample) -> TypeAnswers:
    answers = table.get(sample.task_type or "")
    if answers is None:
        raise SampleError(f"{sample.sample_id}: no training answers for question type {sample.task_type!r} (known: {', '.join(sorted(table))})")
    if not sample.options and not answers.numbers:
        raise SampleError(f"{sample.sample_id}: question type {sample.task_type!r} has no numerical training answers")
    return answers


def _answer(trajectory: Trajectory, answer: str) -> Trajectory:
    trajectory.answer = trajectory.final_text = answer
    trajectory.stop_reason = "answer"
    return trajectory


class ChanceRandomPolicy:
    """Uniform over the options; numerical: uniform over the type's training range.

    The draw is seeded per sample id, so answers do not depend on concurrency or order.
    """

    name = "chance_random"

    def __init__(self, train_docs: Iterable[Mapping[str, Any]], *, seed: int = 0):
        self.answers = training_answers(train_docs)
        self.seed = seed

    def _rng(self, sample: Sample) -> np.random.Generator:
        digest = hashlib.sha256(f"{self.seed}|{sample.sample_id}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))

    def run(self, sample: Sample, context: ToolContext, trajectory: Trajectory) -> Trajectory:
        rng = self._rng(sample)
        if sample.options:
            letters = [_split_option(option, i)[0] for i, option in enumerate(sample.options)]
            return _answer(trajectory, letters[int(rng.integers(len(letters)))])
        answers = _answers_of(self.answers, sample)
        low, high = min(answers.numbers), max(answers.numbers)
        if answers.integers:
            return _answer(trajectory, str(int(rng.integers(int(low), int(high) + 1))))
        return _answer(trajectory, format_number(float(rng.uniform(low, high))))


class ChanceFrequencyPolicy:
    """The type's most frequent training answer: the option whose text was chosen most often
    (else the most frequent letter); numerical: the mode of integer answers, else the mean."""

    name = "chance_frequency"

    def __init__(self, train_docs: Iterable[Mapping[str, Any]]):
        self.answers = training_answers(train_docs)

    def run(self, sample: Sample, context: ToolContext, trajectory: Trajectory) -> Trajectory:
        answers = _answers_of(self.answers, sample)
        if sample.options:
            options = [_split_option(option, i) for i, option in enumerate(sample.options)]
            # max() keeps the first of equals, so ties go to the earlier option.
            letter, _ = max(options, key=lambda option: (answers.texts[option[1]], answers.letters[option[0]]))
            return _answer(trajectory, letter)
        if answers.integers:
            counts = Counter(answers.numbers)
            top = max(counts.values())
            return _answer(trajectory, format_number(min(value for value, count in counts.items() if count == top)))
        return _answer(trajectory, format_number(statistics.fmean(answers.numbers)))


DIRECT_SYSTEM_PROMPT = """You answer spatial questions about an indoor scene shown in the images.
Reply with the answer alone: {answer_form}"""


class DirectPolicy(LLMPolicy):
    """The agent's chat model with the same images and question, one reply, no tools offered."""

    name = "direct"
    instructions = DIRECT_SYSTEM_PROMPT

    def __init__(self, endpoint: ChatEndpoint, model: str, *, temperature: float = 0.0, max_tokens: int = 1024, rate_limiter: RateLimiter | None = None):
        super().__init__(endpoint, model, ToolSet([]), max_turns=1, temperature=temperature, max_tokens=max_tokens, rate_limiter=rate_limiter)
