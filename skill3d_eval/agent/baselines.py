"""Baseline policies a leaderboard needs beside the agent: chance levels and the LLM without tools.

Chance levels follow the VSI-Bench paper: *chance (random)* picks an option uniformly at random;
*chance (frequency)* always gives the answer most frequent for the question's type. Both learn
from a task's training split. VSI-Bench, CV-Bench, BLINK and MMSI-Bench have none; there they
read the evaluated split's own answers, as the paper computes its chance levels on the test set,
each question's own row left out (`AnswerTable`). The run records which split it was
(`RunInfo.answer_sources`) and the leaderboard labels the row.

The paper leaves the random level of numerical questions undefined; ours draws uniformly between
the smallest and largest answer of the type (integers for integer types), so every question
still gets an answer. For a numerical type, "most frequent" means the mode when the answers are
integers (counts) and their mean otherwise (continuous measurements rarely repeat). An answer
depends on the question's type and options only, never on its own truth. Rows of any benchmark
are read by their columns (`scoring.schema_of`): truth, category, options.
`direct` is the same chat model as the agent with the same images and question, and no tools.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from skill3d_eval.agent.answer import format_number
from skill3d_eval.agent.loop import LLMPolicy
from skill3d_eval.agent.rate_limit import RateLimiter
from skill3d_eval.llm import ChatEndpoint
from skill3d_eval.records import Sample, SampleError, Trajectory
from skill3d_eval.scoring import UnknownBenchmarkRow, answer_letter, schema_of
from skill3d_eval.scoring.option_letter import lettered_option
from skill3d_eval.tools import ToolContext, ToolSet


class AnswerDataError(ValueError):
    """A document the chance baselines cannot learn from; names the row and field."""


@dataclass(frozen=True)
class RowAnswer:
    """What one document adds to its question type's answers: a number, or a letter and its text."""

    question_type: str
    number: float | None = None
    letter: str | None = None
    text: str | None = None


@dataclass
class TypeAnswers:
    """The answers of one question type: numbers, or the chosen options' texts and letters."""

    numbers: list[float] = field(default_factory=list)
    texts: Counter[str] = field(default_factory=Counter)
    letters: Counter[str] = field(default_factory=Counter)

    @property
    def integers(self) -> bool:
        return bool(self.numbers) and all(value.is_integer() for value in self.numbers)

    def add(self, row: RowAnswer) -> None:
        if row.number is not None:
            self.numbers.append(row.number)
        if row.letter is not None:
            self.letters[row.letter] += 1
        if row.text is not None:
            self.texts[row.text] += 1

    def without(self, row: RowAnswer) -> TypeAnswers:
        numbers = list(self.numbers)
        if row.number is not None:
            numbers.remove(row.number)
        return TypeAnswers(numbers, self.texts - Counter(filter(None, [row.text])), self.letters - Counter(filter(None, [row.letter])))


def answer_columns(column_names: Iterable[str]) -> list[str]:
    """The columns `row_answers` reads of a split with these columns: the rest (images, videos)
    need not be decoded."""
    names = list(column_names)
    try:
        schema = schema_of(dict.fromkeys(names))
    except UnknownBenchmarkRow as exc:
        raise AnswerDataError(str(exc)) from None
    return [name for name in dict.fromkeys((*schema.marks, schema.truth, schema.category, schema.options)) if name in names]


def row_answers(docs: Iterable[Mapping[str, Any]]) -> list[RowAnswer]:
    """Each document's answer, in any benchmark's columns and in order (index = lmms-eval's doc_id).
    A VSI-Bench row without options is numerical; every other row's truth is an option letter
    ('A', '(A)') or, in VSI-Bench, the option's text."""
    rows = []
    for row, doc in enumerate(docs):
        try:
            schema = schema_of(doc)
        except UnknownBenchmarkRow as exc:
            raise AnswerDataError(f"doc {row}: {exc}") from None
        for key in (schema.category, schema.truth):
            if doc.get(key) is None:
                raise AnswerDataError(f"doc {row}: missing {key!r}")
        question_type = str(doc[schema.category])
        truth = str(doc[schema.truth]).strip()
        listed = doc.get(schema.options)
        options = [lettered_option(option, i) for i, option in enumerate(list(listed if listed is not None else []))]
        if schema.family == "vsi_bench" and not options:
            try:
                rows.append(RowAnswer(question_type, number=float(truth)))
            except ValueError:
                raise AnswerDataError(f"doc {row}: numerical {schema.truth} {truth!r} is not a number") from None
            continue
        letter = answer_letter(truth).upper()
        if not options:  # options the row does not list: only the letter is known
            rows.append(RowAnswer(question_type, letter=letter))
            continue
        chosen = next((option for option in options if option[0] == letter), None)
        chosen = chosen or next((option for option in options if option[1] == lettered_option(truth, 0)[1]), None)
        if chosen is None:
            raise AnswerDataError(f"doc {row}: {schema.truth} {truth!r} is none of its options")
        rows.append(RowAnswer(question_type, letter=chosen[0], text=chosen[1]))
    if not rows:
        raise AnswerDataError("no documents: the chance baselines learn their answers from a split's rows")
    return rows


class AnswerTable:
    """Answers per question type of one split's documents. `leave_one_out`: the documents are the
    split under evaluation, and a question is answered from every row but its own, so a question
    whose option text occurs nowhere else cannot be answered from its own truth (over hundreds of
    questions per type this moves one count)."""

    def __init__(self, docs: Iterable[Mapping[str, Any]], *, leave_one_out: bool = False):
        self.rows = row_answers(docs)
        self.leave_one_out = leave_one_out
        self.by_type: dict[str, TypeAnswers] = {}
        for row in self.rows:
            self.by_type.setdefault(row.question_type, TypeAnswers()).add(row)

    def answers_for(self, sample: Sample) -> TypeAnswers:
        answers = self.by_type.get(sample.task_type or "")
        if answers is None:
            raise SampleError(f"{sample.sample_id}: no answers of question type {sample.task_type!r} to learn from (known: {', '.join(sorted(self.by_type))})")
        if self.leave_one_out:
            own = self.rows[sample.doc_id] if 0 <= sample.doc_id < len(self.rows) else None
            if own is None or own.question_type != sample.task_type:
                raise SampleError(f"{sample.sample_id}: doc {sample.doc_id} is not a {sample.task_type!r} row of the split it is answered from")
            answers = answers.without(own)
        if not sample.options and not answers.numbers:
            raise SampleError(f"{sample.sample_id}: question type {sample.task_type!r} has no numerical answers to learn from")
        return answers


def _answer(trajectory: Trajectory, answer: str) -> Trajectory:
    trajectory.answer = trajectory.final_text = answer
    trajectory.stop_reason = "answer"
    return trajectory


class ChanceRandomPolicy:
    """Uniform over the options; numerical: uniform over the type's range of answers.

    The draw is seeded per sample id, so answers do not depend on concurrency or order.
    """

    name = "chance_random"

    def __init__(self, docs: Iterable[Mapping[str, Any]], *, seed: int = 0, leave_one_out: bool = False):
        self.table = AnswerTable(docs, leave_one_out=leave_one_out)
        self.seed = seed

    def _rng(self, sample: Sample) -> np.random.Generator:
        digest = hashlib.sha256(f"{self.seed}|{sample.sample_id}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))

    def run(self, sample: Sample, context: ToolContext, trajectory: Trajectory) -> Trajectory:
        rng = self._rng(sample)
        if sample.options:
            letters = [lettered_option(option, i)[0] for i, option in enumerate(sample.options)]
            return _answer(trajectory, letters[int(rng.integers(len(letters)))])
        answers = self.table.answers_for(sample)
        low, high = min(answers.numbers), max(answers.numbers)
        if answers.integers:
            return _answer(trajectory, str(int(rng.integers(int(low), int(high) + 1))))
        return _answer(trajectory, format_number(float(rng.uniform(low, high))))


class ChanceFrequencyPolicy:
    """The type's most frequent answer: the option whose text was chosen most often
    (else the most frequent letter); numerical: the mode of integer answers, else the mean."""

    name = "chance_frequency"

    def __init__(self, docs: Iterable[Mapping[str, Any]], *, leave_one_out: bool = False):
        self.table = AnswerTable(docs, leave_one_out=leave_one_out)

    def run(self, sample: Sample, context: ToolContext, trajectory: Trajectory) -> Trajectory:
        answers = self.table.answers_for(sample)
        if sample.options:
            options = [lettered_option(option, i) for i, option in enumerate(sample.options)]
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
