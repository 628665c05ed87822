"""What a row of each benchmark must hold before it is asked, checked per row.

A malformed row (an unknown `question_type`, a choice question without options, an answer that
is none of the choices) must cost that row only. lmms-eval builds every prompt before the
model runs and would abort the whole task on an exception, so `doc_to_text` never raises;
these checks run in `doc_to_visual`, which the skill3d model calls per question, so the row
becomes that question's recorded error (scored wrong) and the rest of the task is evaluated.
`process_results` scores through `score_or_zero`, so a malformed row counts 0 (whichever model
answered it) instead of aborting the task's aggregation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from skill3d_eval.data.errors import DataError
from skill3d_eval.scoring import score
from skill3d_eval.scoring.mmsi import POSITIONAL_TYPES, canonical_type
from skill3d_eval.scoring.vsibench import CHOICE_TYPES, QUESTION_TYPES

Text = Field(min_length=1)
_LETTER_ANSWER = re.compile(r"^\(([A-Z])\)$")
MMSI_CATEGORIES = (
    *POSITIONAL_TYPES,
    "Attribute (Meas.)",
    "Attribute (Appr.)",
    "Motion (Obj.)",
    "Motion (Cam.)",
    "MSR",
)


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore")


class VsiRow(_Row):
    """VSI-Bench's columns (also spatial_synth's)."""

    id: int | str
    question_type: Literal[QUESTION_TYPES]  # type: ignore[valid-type]
    question: str = Text
    options: list[str] | None = None
    ground_truth: str = Text

    @model_validator(mode="after")
    def _options_match_type(self) -> "VsiRow":
        if self.question_type in CHOICE_TYPES:
            if not self.options:
                raise ValueError(f"a {self.question_type} question needs options")
            letters = [chr(ord("A") + index) for index in range(len(self.options))]
            if self.ground_truth.strip() not in letters:
                raise ValueError(f"ground_truth {self.ground_truth!r} is none of the options' letters {letters}")
        else:
            try:
                float(self.ground_truth)
            except ValueError:
                raise ValueError(f"ground_truth {self.ground_truth!r} of a numerical question is not a number") from None
        return self


class _LetteredRow(_Row):
    """CV-Bench and BLINK: choices, and the answer as "(X)" naming one of them."""

    prompt: str = Text
    choices: list[str] = Field(min_length=2)
    answer: str

    @model_validator(mode="after")
    def _answer_is_a_choice(self) -> "_LetteredRow":
        match = _LETTER_ANSWER.match(self.answer.strip())
        if match is None or ord(match.group(1)) - ord("A") >= len(self.choices):
            raise ValueError(f"answer {self.answer!r} is not one of ({', '.join(chr(65 + i) for i in range(len(self.choices)))})")
        return self


class CvBenchRow(_LetteredRow):
    idx: int | str
    task: Literal["Depth", "Distance"]
    source: str = Text


class BlinkRow(_LetteredRow):
    idx: int | str
    sub_task: str = Text


class MmsiRow(_Row):
    id: int | str
    question_type: str
    question: str = Text
    answer: Literal["A", "B", "C", "D", "E", "F"]
    images: list[Any] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_type(self) -> "MmsiRow":
        if canonical_type(self.question_type) not in MMSI_CATEGORIES:
            raise ValueError(f"unknown question_type {self.question_type!r} (known: {', '.join(MMSI_CATEGORIES)})")
        return self


def check(model: type[_Row], doc: Mapping[str, Any], *, where: str) -> None:
    """DataError naming `where` (task and row) and every bad field."""
    try:
        model.model_validate(dict(doc))
    except ValidationError as exc:
        raise DataError(f"{where}: malformed row: {'; '.join(_describe(error) for error in exc.errors())}") from None


def _describe(error: Any) -> str:
    if not error["loc"]:
        return error["msg"].removeprefix("Value error, ")
    return f"{'.'.join(map(str, error['loc']))}: {error['input']!r} is not valid: {error['msg']}"


def score_or_zero(model: type[_Row], doc: Mapping[str, Any], reply: str | None) -> float:
    """`score(doc, reply).value` for a well-formed row, 0 for a malformed one: whatever model
    answered, a row that cannot be asked as written is scored wrong (and stays in the denominator)."""
    try:
        model.model_validate(dict(doc))
    except ValidationError:
        return 0.0
    return score(doc, reply).value
