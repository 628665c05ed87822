"""Option letters of CV-Bench and BLINK answers (ground truth like "(A)").

Both follow lmms-eval 0.7.3 (`tasks/cv_bench/utils.py`, `tasks/blink/utils.py`) so published
numbers stay comparable; `tests/scoring` checks the agreement against lmms-eval itself.
"""

from __future__ import annotations

import re
import string


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
