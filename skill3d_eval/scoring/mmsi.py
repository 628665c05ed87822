"""MMSI-Bench answer extraction, as its official code (and lmms-eval 0.7.3's `mmsi_bench`).

A letter inside double or single backticks wins, then one inside braces, then the first bare
A–F word not followed by another word; no letter at all scores 0 (never dropped).
"""

from __future__ import annotations

import re

POSITIONAL_TYPES = (
    "Positional Relationship (Cam.-Cam.)",
    "Positional Relationship (Cam.-Obj.)",
    "Positional Relationship (Cam.-Reg.)",
    "Positional Relationship (Obj.-Obj.)",
    "Positional Relationship (Obj.-Reg.)",
    "Positional Relationship (Reg.-Reg.)",
)


def canonical_type(question_type: str) -> str:
    """The dataset writes 'Cam.-Obj.' or 'Cam.–Obj.'; we report the ASCII hyphen form."""
    return str(question_type).replace("–", "-")


def extract_mmsi_letter(reply: str | None) -> str | None:
    if reply is None:
        return None
    pred = str(reply)
    for pattern in (r"``([^`]*)``", r"`([^`]*)`", r"\{([^}]*)\}"):
        match = re.search(pattern, pred)
        if match:
            pred = match.group(1)
    match = re.search(r"\b[A-F]\b(?!\s[a-zA-Z])", pred, flags=re.IGNORECASE)
    return match.group().upper() if match else None


def mmsi_score(reply: str | None, answer: str) -> float:
    letter = extract_mmsi_letter(reply)
    return 1.0 if letter is not None and letter.lower() == str(answer).strip().lower() else 0.0
