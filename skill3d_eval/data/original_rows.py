"""The original system's JSONL rows turned back into each benchmark's own columns.

The original Skill-3D (after SPAgent, whose converters `skill3d/utils/download_*.py` wrote them)
stores every benchmark alike: `{"id", "image": [paths], "video": [paths], "conversations":
[{"from": "human", "value": question with its choices written in}, {"from": "gpt", "value":
answer}], "task", "data_source", "others"}`, paths relative to its data root (`dataset/`,
IMAGE_BASE_PATH). Our tasks read the benchmarks' own columns (VSI-Bench's `options` and
`ground_truth`, CV-Bench's `choices` and "(A)" answers, ...), so each row is converted back:
the prompt lmms-eval builds from them is then the benchmark's own, and so is the scoring.
How the converters wrote the choices, and what is read back:

- VSI-Bench: `question + "\\nSelect from the following choices.\\n(A) A. lamp\\n..."`, answer a
  letter or a number, video `VSI_videos/<dataset>_<scene>.mp4` (a copy of
  `VSI-Bench/<dataset>/<scene>.mp4`, which is used when the copy is absent);
- CV-Bench: the row's `prompt` (choices as "(A) lamp" lines), answer a letter, `others.choices`;
- BLINK: the prompt with its "(A) left" lines, answer a letter or "(A)";
- MMSI-Bench: `stem + "\\nSelect from the following choices.\\n(A: left)\\n..."` (the converter
  split "Options: A: left, B: right" at commas), answer a letter, `others.original_id`.

A row already in the benchmark's own columns passes through unchanged (VSI rows get their `video`
resolved the same way). What cannot be read back is a DataError naming the row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from skill3d_eval.data.errors import DataError

VSI_SOURCES = ("scannetpp", "scannet", "arkitscenes")  # longest first: "scannetpp_x" is not scannet's
_CHOICES_MARKER = re.compile(r"\n\s*Select from the following choices[.:]?\s*\n", re.IGNORECASE)
_LETTERED = re.compile(r"^\(([A-Z])\)\s*(.*)$")  # "(A) lamp"
_MMSI_LETTERED = re.compile(r"^\(([A-Z]):\s*(.*?)\)?$")  # "(A: front-left)"
_LETTER = re.compile(r"^\(?\s*([A-Z])\s*\)?$")
_TRAILING_NUMBER = re.compile(r"(\d+)$")


def _conversation(row: Mapping[str, Any], where: str) -> tuple[str, str]:
    turns = row.get("conversations") or []
    human = next((t.get("value") for t in turns if isinstance(t, Mapping) and t.get("from") == "human"), None)
    answer = next((t.get("value") for t in turns if isinstance(t, Mapping) and t.get("from") == "gpt"), None)
    if not human or answer is None:
        raise DataError(f"{where}: conversations lack a human question or a gpt answer")
    return str(human), str(answer).strip()


def _number_of(value: Any) -> int | str:
    """'VSIBench_12' -> 12: the benchmark's own id, when the converter prefixed it."""
    match = _TRAILING_NUMBER.search(str(value))
    return int(match.group(1)) if match else str(value)


def _letter(answer: str, where: str) -> str:
    match = _LETTER.match(answer.strip().rstrip("."))
    if match is None:
        raise DataError(f"{where}: answer {answer!r} is not an option letter")
    return match.group(1)


def _lettered_lines(text: str, pattern: re.Pattern[str] = _LETTERED) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2).strip()) for line in text.splitlines() if (m := pattern.match(line.strip()))]


def _paths(row: Mapping[str, Any], key: str) -> list[str]:
    value = row.get(key) or []
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def vsi_video(row: Mapping[str, Any], media_root: Path) -> str:
    """The row's video relative to `media_root`: its own path when that file exists, else where
    the original layout keeps the source video (`VSI-Bench/<dataset>/<scene>.mp4`); when neither
    exists, the row's own path (its run-time error names it)."""
    dataset, scene = row.get("dataset"), row.get("scene_name")
    candidates = [*_paths(row, "video")]
    if dataset and scene:
        candidates += [f"VSI-Bench/{dataset}/{scene}.mp4", f"VSI_videos/{dataset}_{scene}.mp4", f"{dataset}/{scene}.mp4"]
    if not candidates:
        raise DataError("row names no video and no dataset/scene_name")
    return next((c for c in candidates if (media_root / c).is_file()), candidates[0])


def _vsi_scene(video: str, where: str) -> tuple[str, str]:
    path = PurePosixPath(video)
    if path.parent.name in VSI_SOURCES:
        return path.parent.name, path.stem
    for source in VSI_SOURCES:
        if path.stem.startswith(f"{source}_"):
            return source, path.stem.removeprefix(f"{source}_")
    raise DataError(f"{where}: video {video!r} names none of the sources {', '.join(VSI_SOURCES)}")


def _vsi(row: Mapping[str, Any], where: str) -> dict[str, Any]:
    human, answer = _conversation(row, where)
    videos = _paths(row, "video")
    if not videos:
        raise DataError(f"{where}: a VSI-Bench row needs a video")
    dataset, scene = _vsi_scene(videos[0], where)
    stem, *choices = _CHOICES_MARKER.split(human, maxsplit=1)
    options = [text for _letter_, text in _lettered_lines(choices[0])] if choices else []
    return {
        "id": _number_of(row.get("id")),
        "dataset": dataset,
        "scene_name": scene,
        "question_type": row.get("task"),
        "question": stem.strip(),
        "options": options,
        "ground_truth": answer,
        "video": videos[0],
    }


def _cvbench(row: Mapping[str, Any], where: str) -> dict[str, Any]:
    human, answer = _conversation(row, where)
    others = row.get("others") or {}
    choices = list(others.get("choices") or [text for _letter_, text in _lettered_lines(human)])
    images = _paths(row, "image")
    return {
        "idx": _number_of(row.get("id")),
        "type": others.get("type") or "3D",
        "task": row.get("task"),
        "image": images[0] if images else None,
        "prompt": human.strip(),
        "choices": choices,
        "answer": f"({_letter(answer, where)})",
        "source": others.get("source") or "Omni3D",  # CV-Bench's 3D rows are all Omni3D's
    }


def _blink(row: Mapping[str, Any], where: str) -> dict[str, Any]:
    human, answer = _conversation(row, where)
    images = _paths(row, "image")
    return {
        "idx": str(row.get("id")),
        "prompt": human.strip(),
        "choices": [text for _letter_, text in _lettered_lines(human)],
        "answer": f"({_letter(answer, where)})",
        "sub_task": row.get("sub_task") or row.get("subtask") or row.get("task") or "Multi-view_Reasoning",
        **{f"image_{index}": path for index, path in enumerate(images, start=1)},
    }


def _mmsi(row: Mapping[str, Any], where: str) -> dict[str, Any]:
    human, answer = _conversation(row, where)
    others = row.get("others") or {}
    parts = _CHOICES_MARKER.split(human, maxsplit=1)
    stem = parts[0].strip()
    if len(parts) == 2:
        options: list[list[str]] = []
        for line in parts[1].splitlines():
            line = line.strip()
            if match := _MMSI_LETTERED.match(line):
                options.append([match.group(1), match.group(2).strip()])
            elif line and options:  # an option the converter split at one of its own commas
                options[-1][1] += ", " + line.strip("()")
        question = f"{stem}\nOptions: {', '.join(f'{letter}: {text}' for letter, text in options)}"
    else:
        question = stem
    return {
        "id": others.get("original_id", _number_of(row.get("id"))),
        "question_type": row.get("task"),
        "question": question,
        "answer": _letter(answer, where),
        "images": _paths(row, "image"),
        "thought": others.get("thought") or "",
    }


CONVERTERS: dict[str, Callable[[Mapping[str, Any], str], dict[str, Any]]] = {
    "vsi": _vsi,
    "cv3d": _cvbench,
    "blink_multiview": _blink,
    "mmsi_pr": _mmsi,
}


def native_row(prefix: str, row: Mapping[str, Any], media_root: Path, *, where: str) -> dict[str, Any]:
    """`row` of the split file `<prefix>_*.jsonl` in its benchmark's own columns."""
    native = CONVERTERS[prefix](row, where) if "conversations" in row else dict(row)
    if prefix == "vsi":
        try:
            native["video"] = vsi_video(native, media_root)
        except DataError as exc:
            raise DataError(f"{where}: {exc}") from None
    return native
