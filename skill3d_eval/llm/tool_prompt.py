"""How a local checkpoint's prompt carries the agent's tools.

An OpenAI-compatible server renders tool schemas itself; in-process, the checkpoint's chat
template has to. Qwen2.5-VL's stock template has no `tools` branch: handed `tools=`, it renders
the chat without them, silently, and the model never learns that a tool exists. So each
checkpoint's template is probed once, with a probe tool and a probe system message:

- `chat_template`: the probe tool's name appears in the prompt, so the template renders tools
  itself (Qwen2.5, Qwen3, Qwen3-VL templates, or one that writes only names and arguments, as
  `train/templates/qwen3_vl_tiny_agent.jinja` does) and is used as is.
- `hermes_system_block`: they do not, but the system message does. The schemas then go into the
  system message as the Hermes block Qwen2.5's and Qwen3's templates write (`# Tools`, one JSON
  schema per line inside `<tools></tools>`, and the instruction to reply with
  `<tool_call>{"name": ..., "arguments": ...}</tool_call>`), an assistant's calls become that tag
  text and tool results `<tool_response>` user turns, as those templates render them. The agent's
  tag parser (`agent.tool_tags`) reads such replies. `train/templates/qwen2_5_vl_tools.jinja` is
  the same rendering as a template file for `vllm serve --chat-template` and for training; a test
  pins the two byte-identical on Qwen2.5-VL.
- neither: `ToolTemplateUnsupported`, naming the checkpoint and what its template lacks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Literal

from jinja2.exceptions import TemplateError

# "endpoint": an OpenAI-compatible server rendered the schemas (its own template / tool parser).
ToolRendering = Literal["endpoint", "chat_template", "hermes_system_block"]

HERMES_TOOLS_HEADER = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
HERMES_TOOLS_FOOTER = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)

# Names no real prompt contains, so finding them in a rendering proves the template wrote them.
_PROBE_TOOL = {
    "type": "function",
    "function": {
        "name": "skill3d_probe_tool",
        "description": "skill3d probe: does the chat template render tools?",
        "parameters": {"type": "object", "properties": {"probe": {"type": "string"}}, "required": ["probe"]},
    },
}
_PROBE_SYSTEM = "skill3d probe: does the chat template render the system message?"

# OpenAI-format messages and tool schemas in, prompt text out (the checkpoint's template).
Render = Callable[[list[dict[str, Any]], list[dict[str, Any]] | None], str]


class ToolTemplateUnsupported(ValueError):
    """The checkpoint's chat template can carry the tool schemas neither natively nor in a system message."""


def probe_tool_rendering(render: Render, checkpoint: str) -> ToolRendering:
    """How the template behind `render` gets the tools to the model; raises when it cannot."""
    messages = [{"role": "system", "content": _PROBE_SYSTEM}, {"role": "user", "content": "Which tools can you call?"}]
    function = _PROBE_TOOL["function"]
    try:
        native = render(messages, [_PROBE_TOOL])
    except (TemplateError, ValueError, TypeError) as exc:
        native = f"(rendering with tools= failed: {exc})"
    if function["name"] in native:
        return "chat_template"
    try:
        plain = render(messages, None)
    except (TemplateError, ValueError, TypeError) as exc:
        plain = f"(rendering a system message failed: {exc})"
    if _PROBE_SYSTEM in plain:
        return "hermes_system_block"
    raise ToolTemplateUnsupported(
        f"checkpoint {checkpoint}: its chat template renders no tools (a probe tool passed as tools= did not appear in the prompt) "
        f"and cannot carry them in a system message (a probe system message did not appear either: {_brief(plain)}), so the agent's "
        "tool schemas cannot reach the model. Give the checkpoint a chat template with a `tools` branch or a system role "
        "(for Qwen2.5-VL: train/templates/qwen2_5_vl_tools.jinja as its chat_template.jinja)."
    )


def hermes_tools_block(tools: Sequence[dict[str, Any]]) -> str:
    """The tool schemas as Qwen2.5's and Qwen3's templates write them into the system message."""
    return HERMES_TOOLS_HEADER + "".join("\n" + json.dumps(tool, ensure_ascii=False) for tool in tools) + HERMES_TOOLS_FOOTER


def with_hermes_tools(messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """OpenAI chat messages a template without tool support can render: the schemas appended to
    the system message (one made when there is none), assistant calls as `<tool_call>` text, and
    each run of `tool` results as one user message of `<tool_response>` blocks."""
    rest = list(messages)
    out: list[dict[str, Any]] = []
    if tools:
        block = hermes_tools_block(tools)
        if rest and rest[0]["role"] == "system":
            out.append({"role": "system", "content": content_text(rest.pop(0)["content"]) + "\n\n" + block})
        else:
            out.append({"role": "system", "content": block})
    previous_was_tool = False
    for message in rest:
        if message["role"] == "tool":
            response = f"<tool_response>\n{content_text(message['content'])}\n</tool_response>"
            if previous_was_tool:
                out[-1] = {"role": "user", "content": out[-1]["content"] + "\n" + response}
            else:
                out.append({"role": "user", "content": response})
            previous_was_tool = True
            continue
        previous_was_tool = False
        if message["role"] == "assistant" and message.get("tool_calls"):
            out.append({"role": "assistant", "content": _assistant_text(message)})
        else:
            out.append(message)
    return out


def content_text(content: str | list[dict[str, Any]] | None) -> str:
    """A message's text: a string as is, the text parts of a list joined."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if part.get("type") == "text")
    return content or ""


def _assistant_text(message: dict[str, Any]) -> str:
    text = content_text(message.get("content"))
    for index, call in enumerate(message["tool_calls"]):
        function = call.get("function", call)
        arguments = function["arguments"]
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False)
        if text or index:
            text += "\n"
        text += '<tool_call>\n{"name": "' + function["name"] + '", "arguments": ' + arguments + "}\n</tool_call>"
    return text


def _brief(text: str) -> str:
    return " ".join(text.split())[:200]
