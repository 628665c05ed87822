"""`score(row, reply) -> Score`: every benchmark's scorer behind one call.

The benchmark is told by the row's own columns, never by a task name, so whoever holds a row
scores a reply the same way: the task YAMLs' `process_results`, skill evolution
(`skills/references.py`), the SFT export's filter and the GRPO rewards. Each rule stays in its
own module (extraction as lmms-eval 0.7.3 does it, or for MMSI-Bench as the benchmark's own
code does; each tested against the code it copies):

| family      | columns that tell it                | rule                                                   |
| ----------- | ----------------------------------- | ------------------------------------------------------ |
| `vsi_bench` | `ground_truth` (+ `question_type`)  | `vsibench.py`: MRA of the first number / first word    |
| `blink`     | `answer` like "(A)", `sub_task`     | `option_letter.stated_letter` among `choices`          |
| `cvbench`   | `answer` like "(A)", `task`         | `option_letter.leading_letter`                         |
| `mmsi`      | `answer` like "A", `question_type`  | `mmsi.py`: backticks, braces, then a bare A–D (case-sensitive) |

MMSI-Bench has two rules (`mmsi.py`): the official one unless the row's `answer_extraction`
column names lmms-eval's `widened` one (A–F, any case), so a row keeps its rule wherever it is
scored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from skill3d_eval.records import AnswerKind
from skill3d_eval.scoring.choice import choice_accuracy, extract_choice
from skill3d_eval.scoring.mmsi import extract_mmsi_letter, extraction_of, mmsi_score
from skill3d_eval.scoring.numeric import extract_number, numeric_mra
from skill3d_eval.scoring.option_letter import (
    answer_letter,
    leading_letter,
    stated_letter,
)
from skill3d_eval.scoring.vsibench import is_numerical

Family = Literal["vsi_bench", "blink", "cvbench", "mmsi"]
Row = Mapping[str, Any]


class UnknownBenchmarkRow(ValueError):
    """A row whose columns are no benchmark's; the message lists them."""


@dataclass(frozen=True)
class Score:
    """One reply scored against one row: the value and what the rule read from the reply."""

    value: float
    extracted_answer: str | None  # the letter / number the rule read; None when it found none (value 0)
    family: Family
    metric: Literal["mra", "accuracy"]


def _plain(number: float) -> str:
    return str(int(number)) if number.is_integer() else str(number)


def _vsi_bench(row: Row, reply: str | None) -> Score:
    if is_numerical(row.get("question_type"), row.get("options")):
        number = extract_number(reply)
        return Score(numeric_mra(reply, row["ground_truth"]), None if number is None else _plain(number), "vsi_bench", "mra")
    return Score(choice_accuracy(reply, row["ground_truth"]), extract_choice(reply) or None, "vsi_bench", "accuracy")


def _blink(row: Row, reply: str | None) -> Score:
    choices = row.get("choices")
    letter = stated_letter(reply, 0 if choices is None else len(choices))
    return Score(float(letter == answer_letter(row["answer"])), letter or None, "blink", "accuracy")


def _cvbench(row: Row, reply: str | None) -> Score:
    letter = leading_letter(reply)
    return Score(float(letter == answer_letter(row["answer"])), letter or None, "cvbench", "accuracy")


def _mmsi(row: Row, reply: str | None) -> Score:
    rule = extraction_of(row)
    return Score(mmsi_score(reply, row["answer"], rule), extract_mmsi_letter(reply, rule), "mmsi", "accuracy")


@dataclass(frozen=True)
class Schema:
    """A family's columns: which mark it, and which hold the truth, the question's category and the options."""

    family: Family
    marks: tuple[str, ...]  # columns whose presence marks the family
    truth: str
    category: str
    options: str
    rule: Callable[[Row, str | None], Score]


# In order: a BLINK or CV-Bench row is told by its category column before MMSI's `question_type`.
SCHEMAS = (
    Schema("vsi_bench", ("ground_truth",), "ground_truth", "question_type", "options", _vsi_bench),
    Schema("blink", ("answer", "sub_task"), "answer", "sub_task", "choices", _blink),
    Schema("cvbench", ("answer", "task"), "answer", "task", "choices", _cvbench),
    Schema("mmsi", ("answer", "question_type"), "answer", "question_type", "options", _mmsi),
)


def schema_of(row: Row) -> Schema:
    for schema in SCHEMAS:
        if all(column in row for column in schema.marks):
            return schema
    known = "; ".join(f"{s.family}: {', '.join(s.marks)}" for s in SCHEMAS)
    raise UnknownBenchmarkRow(f"a row with columns {sorted(row)} is no benchmark's (columns that mark one: {known})")


def score(row: Row, reply: str | None) -> Score:
    """The row's benchmark metric of `reply`; an empty or unparsable reply scores 0."""
    return schema_of(row).rule(row, reply)


def answer_kind(row: Row) -> AnswerKind:
    """The answer the row's metric reads: a number for VSI-Bench's numerical types, else an option letter."""
    if schema_of(row).family == "vsi_bench" and is_numerical(row.get("question_type"), row.get("options")):
        return "number"
    return "choice"
