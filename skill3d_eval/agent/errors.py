"""The agent's own failure that ends one sample (input failures are `records.SampleError`)."""


class LLMResponseError(Exception):
    """The endpoint answered, but not with a usable chat completion (no choices, malformed body)."""
