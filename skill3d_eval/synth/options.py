"""Lettered options: VSI-Bench writes them "A. text", MMSI-Bench "A: text" inside the question,
CV-Bench and BLINK "(A) text" with the answer "(A)". Built and parsed here so that generation
and the consistency check read them the same way."""

from __future__ import annotations

import re

import numpy as np

LETTERS = "ABCDEF"
_VSI_OPTION = re.compile(r"(?P<letter>[A-F])\. (?P<text>.+)")


def vsi_options(texts: list[str]) -> tuple[str, ...]:
    return tuple(f"{LETTERS[i]}. {text}" for i, text in enumerate(texts))


def shuffled_options(correct: str, distractors: list[str], rng: np.random.Generator) -> tuple[tuple[str, ...], str]:
    """VSI-style options holding `correct` and the distractors in random order, and its letter."""
    texts = [correct, *distractors]
    order = rng.permutation(len(texts))
    texts = [texts[i] for i in order]
    return vsi_options(texts), LETTERS[texts.index(correct)]


def option_texts(options: tuple[str, ...] | list[str]) -> list[str]:
    texts = []
    for option in options:
        match = _VSI_OPTION.fullmatch(option)
        if match is None or match["letter"] != LETTERS[len(texts)]:
            raise ValueError(f"option {option!r} is not '{LETTERS[len(texts)]}. <text>'")
        texts.append(match["text"])
    return texts


def letter_of(options: tuple[str, ...] | list[str], text: str) -> str:
    """The letter of the option reading `text`; ValueError when no option (or several) does."""
    texts = option_texts(options)
    if texts.count(text) != 1:
        raise ValueError(f"{texts.count(text)} options read {text!r}: {list(options)}")
    return LETTERS[texts.index(text)]


def paren_choices(texts: list[str]) -> str:
    """CV-Bench / BLINK option block: '(A) left\\n(B) right'."""
    return "\n".join(f"({LETTERS[i]}) {text}" for i, text in enumerate(texts))
