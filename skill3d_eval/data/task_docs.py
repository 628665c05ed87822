"""One of our tasks' documents as lmms-eval hands them to a model, without lmms-eval.

Rollouts on a training split must see exactly what an evaluation run sees: the rows after the
task's `process_docs` (MMSI-Bench's options are parsed out of the question there, image columns
are left undecoded), the prompt of its `doc_to_text` and the visuals of its `doc_to_visual`,
with the prompt kwargs of its YAML. This reads the task's YAML with its `include:` chain (as
`local_task` does) and resolves each `!function` as lmms-eval does: `module.function` in a file
next to the YAML that names it, else an importable module. lmms-eval's TaskManager would do the
same after seconds of imports and indexing.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import datasets
import pyarrow.parquet as pq
import yaml

from skill3d_eval.data.errors import DataError
from skill3d_eval.settings import TASKS_DIR


class _FunctionName(str):
    """A `!function` value, still unresolved."""


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!function", lambda loader, node: _FunctionName(loader.construct_scalar(node)))


@dataclass(frozen=True)
class _Function:
    directory: Path  # of the YAML that names it
    name: str


@lru_cache(maxsize=None)
def _module(file: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"task_functions.{file.parent.name}.{file.stem}", file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _resolve(function: _Function) -> Callable:
    module_name, _, attribute = function.name.rpartition(".")
    file = function.directory / f"{module_name.replace('.', '/')}.py"
    module = _module(file) if file.is_file() else importlib.import_module(module_name)
    return getattr(module, attribute)


def _config(path: Path) -> dict[str, Any]:
    """The YAML's keys over its includes' (a key replaces the included one whole), functions bound to their file's directory."""
    own = yaml.load(path.read_text(), Loader=_Loader) or {}
    own = {key: _Function(path.parent, value) if isinstance(value, _FunctionName) else value for key, value in own.items()}
    include = own.pop("include", None)
    return {**_config((path.parent / include).resolve()), **own} if include else own


@lru_cache(maxsize=None)
def _task_config(task: str, tasks_dir: Path) -> dict[str, Any]:
    for path in sorted(tasks_dir.rglob("*.yaml")):
        if (yaml.load(path.read_text(), Loader=_Loader) or {}).get("task") == task:
            return _config(path)
    raise DataError(f"task {task!r} is not one of ours (in {tasks_dir})")


@dataclass(frozen=True)
class TaskDocs:
    """A split's documents and the task's functions bound to its prompt kwargs (the `default` block)."""

    task: str
    docs: datasets.Dataset
    doc_to_text: Callable[[dict], str]
    doc_to_visual: Callable[[dict], list]


def task_docs(task: str, data_file: Path, prompt_kwargs: dict[str, Any] | None = None, tasks_dir: Path = TASKS_DIR) -> TaskDocs:
    """`data_file`: the split's parquet; `prompt_kwargs` override the YAML's (e.g. `video_root`)."""
    config = _task_config(task, tasks_dir)
    kwargs = {**((config.get("lmms_eval_specific_kwargs") or {}).get("default") or {}), **(prompt_kwargs or {})}
    docs = datasets.Dataset(datasets.table.InMemoryTable(pq.read_table(data_file)))
    if isinstance(config.get("process_docs"), _Function):
        docs = _resolve(config["process_docs"])(docs)
    return TaskDocs(
        task=task,
        docs=docs,
        doc_to_text=partial(_resolve(config["doc_to_text"]), lmms_eval_specific_kwargs=kwargs),
        doc_to_visual=partial(_resolve(config["doc_to_visual"]), lmms_eval_specific_kwargs=kwargs),
    )
