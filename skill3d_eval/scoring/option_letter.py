"""Option letters of CV-Bench and BLINK answers (ground truth like "(A)"), and of option lists.

The reply extractors follow lmms-eval 0.7.3 (`tasks/cv_bench/utils.py`, `tasks/blink/utils.py`) so published
numbers stay comparable; `tests/scoring` checks the agreement against lmms-eval itself.
"""

from __future__ import annotations

import re
import string

_OPTION_PREFIX = re.compile(r"^\(?([A-Z])\)?[.:)]\s*")


def leading_letter(reply: str | None) -> str:
    """CV-Bench: the letter the reply starts with ('(B) lamp', 'B.', 'b'), else ''."""
    if reply is None:
        return ""
    match = re.match(r"[\(\s]*([A-Z])[\)\.\s]*", str(reply).strip(), flags=re.IGNORECASE)
    return match.group(1).upper() if match else ""


def stated_letter(reply: str | None, n_choices: int) -> str:
    """BLINK: a terse letter, else the last 'answer is (X)', else the last '(X)', else a leading
    letter, restricted to this question's first `n_choices` letters; '' when none."""
    if reply is None:
        return ""
    text = str(reply).strip()
    valid = string.ascii_uppercase[:n_choices] or string.ascii_uppercase
    letters = re.escape(valid)
    first_line = text.split("\n", 1)[0].strip()
    if len(first_line) <= 4:
        match = re.match(rf"^\(?([{letters}])\)?[\.\s:,)]*$", first_line, flags=re.IGNORECASE)
        if match:
            return match.group(1).upper()
    matches = re.findall(rf"answers?(?:\s+is)?\s*[:\-]?\s*\(?([{letters}])\)?(?![A-Za-z])", text, flags=re.IGNORECASE)
    if matches:
        return matches[-1].upper()
    matches = re.findall(rf"\(([{letters}])\)", text)
    if matches:
        return matches[-1].upper()
    match = re.match(rf"[\(\s]*([{letters}])[\)\.\s]*", text, flags=re.IGNORECASE)
    return match.group(1).upper() if match else ""


def answer_letter(ground_truth: str) -> str:
    """'(A)' -> 'A'."""
    return str(ground_truth).strip().strip("()")


def option_text(text: str) -> str:
    """Option text as compared across sources: without case, spacing or a trailing full stop."""
    return " ".join(str(text).lower().split()).rstrip(".")


def lettered_option(option: str, index: int) -> tuple[str, str]:
    """("B. Sofa", 1) -> ("B", "sofa"): VSI-Bench's "A. x", MMSI's "A: x" and "(A) x" name their
    letter; a bare option, as CV-Bench's and BLINK's choices are, is lettered by its position."""
    text = str(option).strip()
    match = _OPTION_PREFIX.match(text)
    letter = match.group(1) if match else chr(ord("A") + index)
    return letter, option_text(_OPTION_PREFIX.sub("", text))
