"""`skill3d-eval model-args`: the keys `lmms-eval --model skill3d --model_args ...` accepts.

Read from the `Settings` model itself (type, default, constraints, description), so the list
cannot drift from what `Settings.from_model_args` validates.
"""

from __future__ import annotations

import argparse
import json
import types
from enum import Enum
from pathlib import Path
from typing import Literal, Union, get_args, get_origin

from pydantic import BaseModel, Field
from pydantic_core import PydanticUndefined

from skill3d_eval.settings import REPO_ROOT, Settings

_CONSTRAINTS = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))


class ModelArg(BaseModel):
    """One `--model_args` key as `skill3d-eval model-args --json` prints it."""

    name: str
    type: str = Field(description="the accepted values, e.g. 'int >= 1', 'grpc | http', 'path | none'")
    default: object = Field(description="JSON value; a path inside the checkout is shown relative to it")
    description: str


def model_args() -> list[ModelArg]:
    return [
        ModelArg(name=name, type=_type_of(field.annotation, field.metadata), default=_shown(field.default), description=field.description or "")
        for name, field in Settings.model_fields.items()
    ]


def _type_of(annotation: object, metadata: list[object]) -> str:
    bounds = " ".join(f"{symbol} {getattr(m, attr)}" for m in metadata for attr, symbol in _CONSTRAINTS if getattr(m, attr, None) is not None)
    return f"{_name_of(annotation)} {bounds}".strip()


def _name_of(annotation: object) -> str:
    origin = get_origin(annotation)
    if origin is Literal:
        return " | ".join(str(value) for value in get_args(annotation))
    if origin in (Union, types.UnionType):
        return " | ".join(_name_of(arg) for arg in get_args(annotation))
    if origin is dict:
        return "JSON object"
    if annotation is type(None):
        return "none"
    if annotation is Path:
        return "path"
    return getattr(annotation, "__name__", str(annotation))


def _shown(default: object) -> object:
    if default is PydanticUndefined:
        return None
    if isinstance(default, Path):
        return str(default.relative_to(REPO_ROOT)) if default.is_relative_to(REPO_ROOT) else str(default)
    return default.value if isinstance(default, Enum) else default


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("model-args", help="every --model_args key of `lmms-eval --model skill3d`: type, default, description")
    parser.add_argument("--json", action="store_true", help="print a JSON list of {name, type, default, description}")
    parser.set_defaults(run=_print)


def _print(args: argparse.Namespace) -> int:
    keys = model_args()
    if args.json:
        print(json.dumps([key.model_dump(mode="json") for key in keys], indent=2))
        return 0
    print("lmms-eval --model skill3d --model_args key=value,key=value ...  (paths relative to the checkout)\n")
    for key in keys:
        print(f"{key.name}  ({key.type}; default: {'none' if key.default is None else json.dumps(key.default)})")
        print(f"    {key.description}")
    return 0
