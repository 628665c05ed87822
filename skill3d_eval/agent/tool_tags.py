"""Tool calls written as text, `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`.

Local Qwen-family models (and vLLM without a tool parser) emit this form instead of native
function calls. Only this exact tag form is accepted: a call that does not parse is passed on
as a call with its raw text, so schema validation answers it with an error observation
instead of a heuristic guessing which tool was meant. Their results go back as
`<tool_response>` text (`agent.chat`).
"""

from __future__ import annotations

import json
import re

from skill3d_eval.records import ToolCall

_TAG = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.S)


def parse_tool_tags(text: str | None, turn: int) -> list[ToolCall]:
    calls = []
    for index, body in enumerate(_TAG.findall(text or "")):
        call_id = f"tag-{turn}-{index}"
        try:
            payload = json.loads(body)
        except json.JSONDecodeError:
            calls.append(ToolCall(id=call_id, name="(unparsable tool call)", arguments=body))
            continue
        if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
            calls.append(ToolCall(id=call_id, name="(unparsable tool call)", arguments=body))
            continue
        arguments = payload.get("arguments", {})
        calls.append(ToolCall(id=call_id, name=payload["name"], arguments=arguments if isinstance(arguments, (dict, str)) else json.dumps(arguments)))
    return calls
