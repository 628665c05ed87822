"""Where chat completions come from: an OpenAI-compatible endpoint, or a local checkpoint in-process."""

from skill3d_eval.llm.endpoint import ChatEndpoint, EndpointUnusable, OpenAIEndpoint
from skill3d_eval.llm.tool_prompt import ToolRendering, ToolTemplateUnsupported

__all__ = ["ChatEndpoint", "EndpointUnusable", "OpenAIEndpoint", "ToolRendering", "ToolTemplateUnsupported"]
