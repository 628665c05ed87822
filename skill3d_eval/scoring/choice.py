"""Multiple-choice answers scored as VSI-Bench does: the reply's first word is the letter."""

from __future__ import annotations


def extract_choice(reply: str | None) -> str:
    """First whitespace-separated token with trailing '.' removed (lmms-eval's `fuzzy_matching`)."""
    if reply is None:
        return ""
    return str(reply).split(" ")[0].rstrip(".").strip()


def choice_accuracy(reply: str | None, ground_truth: str) -> float:
    return 1.0 if extract_choice(reply).lower() == str(ground_truth).lower() else 0.0
