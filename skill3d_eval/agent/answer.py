"""The final reply in the benchmark's form: a bare option letter or a bare number first.

Benchmarks score the first token (VSI-Bench) or the first number of a reply, so an agent that
answers "The distance is about 2.4 m" must be reduced to "2.4" before it is returned.
"""

from __future__ import annotations

import re

from skill3d_eval.records import AnswerKind
from skill3d_eval.scoring.numeric import extract_number

_LEADING_LETTER = re.compile(r"^\(?([A-Z])\)?(?:[.:)]|\s|$)")
_STATED_LETTER = re.compile(r"\b(?:answer|option|choice)\s*(?:is|:)?\s*\(?([A-Z])\)?(?![A-Za-z])", re.I)
_OPTION_PREFIX = re.compile(r"^\(?[A-Z]\)?[.:)]\s*")
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)


def format_number(value: float) -> str:
    """Shortest plain decimal form: 3.0 -> "3", 2.374 -> "2.37"."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def normalize_answer(reply: str | None, kind: AnswerKind, options: list[str] | None = None) -> str:
    """Reduce a free-form reply to its answer; an unparsable reply is returned stripped (scored wrong)."""
    text = (reply or "").strip()
    tagged = _ANSWER_TAG.search(text)
    if tagged:
        text = tagged.group(1).strip()
    if kind == "number":
        value = extract_number(text)
        return format_number(value) if value is not None else text
    options = options or []
    letters = [chr(ord("A") + i) for i in range(len(options))] or list("ABCDEFGH")
    for pattern in (_LEADING_LETTER, _STATED_LETTER):
        match = pattern.search(text)
        if match and match.group(1).upper() in letters:
            return match.group(1).upper()
    bare = text.rstrip(".").strip().lower()
    for letter, option in zip(letters, options):
        if bare and bare == _OPTION_PREFIX.sub("", option).strip().lower():
            return letter
    return text
