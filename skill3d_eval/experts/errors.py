"""Typed failures of the experts layer; each carries the expert (Triton model) it concerns."""

from __future__ import annotations


class ExpertError(Exception):
    """Base of every experts-layer failure. `model` is the Triton model name (None: server-wide)."""

    def __init__(self, message: str, *, model: str | None = None):
        super().__init__(message)
        self.model = model


class ExpertUnavailable(ExpertError):
    """The server could not be reached, did not answer in time, or the model is not loaded."""


class ExpertRequestError(ExpertError):
    """The model rejected the request; the message includes the server's error text."""


class ExpertInputError(ExpertRequestError, ValueError):
    """The input was rejected client-side, before anything was sent."""


class ExpertServerError(ExpertError):
    """The Triton server failed to start, died, or failed to load a model. `log_tail` is the end of its log."""

    def __init__(self, message: str, *, model: str | None = None, log_tail: str = ""):
        if log_tail:
            message = f"{message}\n--- tritonserver log (tail) ---\n{log_tail}"
        super().__init__(message, model=model)
        self.log_tail = log_tail


class CircuitOpen(ExpertUnavailable):
    """Calls to this model fail fast: it failed repeatedly and its reset timeout has not passed."""
