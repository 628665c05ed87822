"""Failures that end one sample (recorded with the trajectory and scored wrong), by cause."""


class SampleError(ValueError):
    """A document or its visuals cannot be turned into a sample; the message names sample and field."""


class LLMResponseError(Exception):
    """The endpoint answered, but not with a usable chat completion (no choices, malformed body)."""
