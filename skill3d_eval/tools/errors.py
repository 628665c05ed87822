"""Tool failures the agent loop turns into error observations the model can act on."""


class ToolError(Exception):
    """A tool could not produce its observation (bad reference, no evidence, expert failure)."""


class ToolArgumentError(ToolError):
    """The call's arguments do not satisfy the tool's JSON schema."""
