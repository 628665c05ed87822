"""MMSI-Bench answer extraction: the benchmark's official rule, and lmms-eval's widened one by name.

Both read the reply in the same cascade: the text inside double backticks, then inside single
backticks, then inside braces (each narrowing what the previous step kept), then the first
standalone letter not followed by a space and another word ("A chair is ..." is an article, not
an answer). They differ in that last step:

- `official` (the default): a **case-sensitive** `A`–`D`, as `extract_single_choice_with_word_boundary`
  in the "Answer Extraction" section of OpenRobotLab/MMSI-Bench's `README.md`. So "the answer is b",
  "a." and "E" find no letter. (The repository's VLMEvalKit port, `vlmeval/dataset/mmsi_bench.py`,
  omits the braces step; the README is the rule the paper states. Its LLM fallback for replies
  without a letter is not reproduced: such a reply scores 0, never dropped.)
- `widened`: lmms-eval 0.7.3's `mmsi_bench` (`tasks/mmsi_bench/utils.py`), `A`–`F` matched
  case-insensitively and upper-cased, so "the answer is b" reads B and "E" reads E.

Published MMSI-Bench numbers use the official rule; the widened one is for comparing with
lmms-eval's `mmsi_bench` results. A row chooses its rule by its `answer_extraction` column
(stamped by the `*_widened` tasks' `process_docs`); a row without one is scored officially.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, get_args

AnswerExtraction = Literal["official", "widened"]
ANSWER_EXTRACTION = "answer_extraction"  # the row column that names a row's rule

_ENCLOSURES = (r"``([^`]*)``", r"`([^`]*)`", r"\{([^}]*)\}")
_STANDALONE = {
    "official": re.compile(r"\b[A-D]\b(?!\s[a-zA-Z])"),
    "widened": re.compile(r"\b[A-F]\b(?!\s[a-zA-Z])", flags=re.IGNORECASE),
}

POSITIONAL_TYPES = (
    "Positional Relationship (Cam.-Cam.)",
    "Positional Relationship (Cam.-Obj.)",
    "Positional Relationship (Cam.-Reg.)",
    "Positional Relationship (Obj.-Obj.)",
    "Positional Relationship (Obj.-Reg.)",
    "Positional Relationship (Reg.-Reg.)",
)


class UnknownAnswerExtraction(ValueError):
    """A row names an extraction rule that does not exist; the message lists the rules."""


def canonical_type(question_type: str) -> str:
    """The dataset writes 'Cam.-Obj.' or 'Cam.–Obj.'; we report the ASCII hyphen form."""
    return str(question_type).replace("–", "-")


def extraction_of(row: Mapping[str, Any]) -> AnswerExtraction:
    rule = row.get(ANSWER_EXTRACTION) or "official"
    if rule not in _STANDALONE:
        raise UnknownAnswerExtraction(f"{ANSWER_EXTRACTION}={rule!r} is no MMSI-Bench rule (known: {', '.join(get_args(AnswerExtraction))})")
    return rule


def extract_mmsi_letter(reply: str | None, rule: AnswerExtraction = "official") -> str | None:
    """The option letter `rule` reads from the reply, upper-case; None when it finds none."""
    if reply is None:
        return None
    pred = str(reply)
    for pattern in _ENCLOSURES:
        match = re.search(pattern, pred)
        if match:
            pred = match.group(1)
    match = _STANDALONE[rule].search(pred)
    return match.group().upper() if match else None


def mmsi_score(reply: str | None, answer: str, rule: AnswerExtraction = "official") -> float:
    """1 when the letter read equals the answer (compared as both rules do: lower-cased, stripped)."""
    letter = extract_mmsi_letter(reply, rule)
    return 1.0 if letter is not None and letter.lower() == str(answer).lower().replace("\n", " ").strip() else 0.0
