"""Numeric answers: VSI-Bench's mean relative accuracy (MRA) and its answer extraction.

Both follow lmms-eval 0.7.3's `tasks/vsibench/utils.py` exactly (threshold grid, `<=`
comparison, first number wins, English number words) so that our scores are comparable with
published VSI-Bench numbers; `tests/scoring` checks the agreement against lmms-eval itself.
"""

from __future__ import annotations

import re

import numpy as np

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
}
_NUM_RE = re.compile(r"-?\d+(?:\.\d+)?")


def mean_relative_accuracy(pred: float, target: float, start: float = 0.5, end: float = 0.95, interval: float = 0.05) -> float:
    """Share of confidence thresholds θ at which |pred − target| / target ≤ 1 − θ.

    The grid is built as lmms-eval builds it: `int((end - start) / interval + 2)` points, which
    floating point makes 10 for the default (0.50 … 0.95), not 11.
    """
    num_pts = (end - start) / interval + 2
    thresholds = np.linspace(start, end, int(num_pts))
    return float((abs(pred - target) / target <= 1 - thresholds).mean())


def extract_number(text: str | None) -> float | None:
    """The first number in a reply (digits or English number words), or None."""
    if text is None:
        return None
    s = str(text).strip().lower()
    if not s:
        return None
    digit_match = _NUM_RE.search(s)
    word_run_start = None
    word_run: list[str] = []
    for match in re.finditer(r"[a-z]+", s):
        token = match.group(0)
        if word_run_start is None:
            if token in _NUMBER_WORDS:
                word_run_start = match.start()
                word_run.append(token)
        elif token == "and":
            continue
        elif token in _NUMBER_WORDS:
            word_run.append(token)
        else:
            break
    if digit_match is not None and (word_run_start is None or digit_match.start() < word_run_start):
        return float(digit_match.group(0))
    if word_run_start is None:
        return None
    total, current = 0, 0
    for token in word_run:
        value = _NUMBER_WORDS[token]
        if value == 100:
            current = max(current, 1) * 100
        elif value == 1000:
            total += max(current, 1) * 1000
            current = 0
        else:
            current += value
    return float(total + current)


def numeric_mra(reply: str | None, ground_truth: str | float) -> float:
    """MRA of a free-form reply; an unparsable reply or ground truth scores 0, never drops out."""
    pred = extract_number(reply)
    try:
        target = float(ground_truth)
    except (TypeError, ValueError):
        return 0.0
    if pred is None:
        return 0.0
    if target == 0:
        # Relative error is undefined (lmms-eval divides by zero here): exact match or nothing.
        return 1.0 if pred == 0 else 0.0
    return mean_relative_accuracy(pred, target)
