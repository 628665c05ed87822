"""The question part of a dataset row, and the error for questions a scene does not answer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    """One dataset row's question part; options stay empty for numerical question types."""

    question_type: str
    question: str
    ground_truth: str
    options: tuple[str, ...] = ()


class UnanswerableQuestion(ValueError):
    """The question does not parse, or the scene does not determine its answer."""
