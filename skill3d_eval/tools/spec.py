"""Tools are declared once: a name, a description, a pydantic argument model and a function.

The OpenAI function schema the model sees and the validation its calls go through are both
derived from that one declaration, so they cannot drift apart. A tool may also declare the
visual evidence it can show (`tools.visuals`); it is drawn only when the caller asks for it.
Every call goes through the sample's `ToolContext`, which answers it from the run's Scene
Memory when an earlier question made the same call on the same frames, and counts its experts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

import jsonschema
from pydantic import BaseModel

from skill3d_eval.records import Observation, ObservationFailure
from skill3d_eval.experts.errors import ExpertError
from skill3d_eval.tools.context import ToolContext
from skill3d_eval.tools.errors import ToolArgumentError, ToolError
from skill3d_eval.tools.visuals import Visual, encode_visual

ArgsT = TypeVar("ArgsT", bound=BaseModel)


@dataclass(frozen=True)
class Tool(Generic[ArgsT]):
    name: str
    description: str
    arguments: type[ArgsT]
    run: Callable[[ToolContext, ArgsT], dict[str, Any]]
    # Pictures of the result `run` returned (its JSON is the third argument), from the context's
    # memoised expert results: no expert is asked twice.
    evidence: Callable[[ToolContext, ArgsT, dict[str, Any]], list[Visual]] | None = None

    @cached_property
    def parameters_schema(self) -> dict[str, Any]:
        schema = self.arguments.model_json_schema()
        schema.pop("title", None)
        schema["additionalProperties"] = False
        return schema

    @cached_property
    def _validator(self) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator(self.parameters_schema)

    def openai_schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters_schema},
        }

    def parse(self, arguments: dict[str, Any] | str) -> ArgsT:
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments or "{}")
            except json.JSONDecodeError as exc:
                raise ToolArgumentError(f"arguments of {self.name} are not valid JSON: {exc.msg} at position {exc.pos}") from exc
        if not isinstance(arguments, dict):
            raise ToolArgumentError(f"arguments of {self.name} must be a JSON object, got {type(arguments).__name__}")
        errors = sorted(self._validator.iter_errors(arguments), key=str)
        if errors:
            details = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:5])
            raise ToolArgumentError(f"invalid arguments for {self.name}: {details}")
        return self.arguments.model_validate(arguments)


class ToolSet:
    """The tools one agent may call, addressed by name."""

    def __init__(self, tools: Sequence[Tool]):
        self.tools = {tool.name: tool for tool in tools}
        self._schemas = [tool.openai_schema() for tool in tools]

    def openai_schemas(self) -> list[dict[str, Any]]:
        return self._schemas

    def call(self, context: ToolContext, name: str, arguments: dict[str, Any] | str, call_id: str, *, evidence: bool = False) -> Observation:
        """Run one call; any failure becomes an error observation, never an exception.

        `evidence`: also draw the tool's visual evidence; its bytes go to `context.evidence`,
        the observation names them.
        """
        started = time.perf_counter()
        tool = self.tools.get(name)
        failure: ObservationFailure = "unknown_tool"
        with context.ledger() as ledger:
            try:
                if tool is None:
                    raise ToolError(f"unknown tool {name!r}; available tools: {', '.join(self.tools)}")
                failure = "invalid_arguments"
                parsed = tool.parse(arguments)
                failure = "tool_error"
                content = context.observation(name, parsed.model_dump(mode="json"), lambda: tool.run(context, parsed))
                visuals = tool.evidence(context, parsed, content) if evidence and tool.evidence else []
            except (ToolError, ExpertError) as exc:
                kind: ObservationFailure = "expert_error" if isinstance(exc, ExpertError) else failure
                return Observation(
                    tool_call_id=call_id, name=name, ok=False, error=str(exc), failure=kind, seconds=time.perf_counter() - started,
                    expert_calls=ledger.expert_calls, memory=ledger.memory() if context.memory else None,
                )
        images = []
        for visual in visuals:
            encoded = encode_visual(visual)
            context.evidence[encoded.reference.sha256] = encoded.data
            images.append(encoded.reference)
        return Observation(
            tool_call_id=call_id, name=name, ok=True, content=content, images=images, seconds=time.perf_counter() - started,
            expert_calls=ledger.expert_calls, memory=ledger.memory() if context.memory else None,
        )
