"""Multi-turn GRPO rollouts that execute real tool calls: our tool layer as a TRL environment.

TRL's `GRPOTrainer(environment_factory=...)` exposes an environment's public methods as tools
(schema from signature + docstring), calls `reset(**example)` before each rollout and runs the
calls the policy emits. Here each method is derived from one of our declared tools and runs
through `ToolSet.call` on a `ToolContext` over the example's own frames and the Triton experts,
so rollouts see exactly the validation, errors and structured observations of evaluation.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from skill3d_eval.agent.chat import observation_text
from skill3d_eval.records import Observation, Sample
from skill3d_eval.experts import ExpertsClient
from skill3d_eval.tools import Tool, ToolContext, ToolSet


class ToolEnvironmentBase:
    """Holds one rollout's sample context; subclasses get one method per tool."""

    def __init__(self, experts: ExpertsClient, tools: ToolSet):
        self._experts = experts
        self._tools = tools
        self._context: ToolContext | None = None
        self.observations: list[Observation] = []

    def reset(self, images: list | None = None, sample_id: str = "rollout", question_type: str | None = None, options: list | None = None, scene: str | None = None, **_: Any) -> None:
        frames = [np.asarray(image.convert("RGB"), dtype=np.uint8) for image in images or []]
        sample = Sample(task="grpo", doc_id=0, sample_id=sample_id, question="", frames=frames, task_type=question_type, options=list(options or []), scene=scene)
        self._context = ToolContext(sample, self._experts)
        self.observations = []

    def _call(self, name: str, arguments: dict[str, Any]) -> str:
        if self._context is None:
            raise RuntimeError("reset() must run before a tool call")
        observation = self._tools.call(self._context, name, arguments, f"grpo-{len(self.observations)}")
        self.observations.append(observation)
        return observation_text(observation)


def _tool_method(tool: Tool) -> Callable[..., str]:
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    annotations: dict[str, Any] = {"return": str}
    docs = []
    for name, field in tool.arguments.model_fields.items():
        default = inspect.Parameter.empty if field.is_required() else field.get_default(call_default_factory=True)
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=field.annotation))
        annotations[name] = field.annotation
        docs.append(f"    {name}: {' '.join((field.description or name).split())}")

    def method(self: ToolEnvironmentBase, **arguments: Any) -> str:
        return self._call(tool.name, arguments)

    method.__name__ = method.__qualname__ = tool.name
    method.__signature__ = inspect.Signature(parameters, return_annotation=str)
    method.__annotations__ = annotations
    method.__doc__ = " ".join(tool.description.split()) + ("\n\nArgs:\n" + "\n".join(docs) if docs else "") + "\n\nReturns:\n    The observation as JSON, or {\"error\": ...} to correct the call."
    return method


def environment_factory(experts: ExpertsClient, tools: ToolSet) -> Callable[[], ToolEnvironmentBase]:
    """A factory TRL calls once per concurrent rollout; all instances share one experts client."""
    cls = type("SpatialToolEnvironment", (ToolEnvironmentBase,), {tool.name: _tool_method(tool) for tool in tools.tools.values()})
    return lambda: cls(experts, tools)


def rendered_schemas(factory: Callable[[], ToolEnvironmentBase]) -> dict[str, dict[str, Any]]:
    """The tool schemas TRL will render for an environment, by name (what the policy is shown)."""
    from transformers.utils import get_json_schema

    instance = factory()
    methods = [getattr(instance, name) for name, _ in inspect.getmembers(type(instance), predicate=inspect.isfunction) if not name.startswith("_") and name != "reset"]
    return {method.__name__: json.loads(json.dumps(get_json_schema(method))) for method in methods}
