"""The Python-backend side shared by every expert: config parameters, per-request errors, META.

An expert module defines a pure `predict`-style backend (unit-testable without Triton) and a
`TritonPythonModel(ExpertModel)` that only moves tensors in and out. `triton_python_backend_utils`
exists only inside the backend stub, so it is imported when a model is initialised.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from skill3d_experts.oracle_store import OracleMiss


class InvalidInput(ValueError):
    """The request's tensors break the model's contract (answered with INVALID_ARG)."""


def model_parameters(model_config: Mapping[str, Any]) -> dict[str, str]:
    """String values of a model config's `parameters` map (as the backend hands it over, JSON-decoded)."""
    raw = model_config.get("parameters") or {}
    return {name: str(value.get("string_value", "")) for name, value in raw.items()}


def select_backend(model: str, backends: Mapping[str, Callable[[dict[str, str]], Any]], params: dict[str, str]) -> Any:
    """Build the backend named by the `backend` parameter; unknown names fail loudly at load time."""
    name = params.get("backend", "").strip()
    if name not in backends:
        raise ValueError(
            f"{model}: unknown backend {name!r} in config parameter 'backend' (known: {', '.join(sorted(backends))})"
        )
    return backends[name](params)


def meta_tensor_value(meta: Mapping[str, Any]) -> np.ndarray:
    """One JSON document as a BYTES [1] array."""
    return np.array([json.dumps(meta, sort_keys=True).encode()], dtype=np.object_)


def check_image(image: np.ndarray, name: str = "IMAGE") -> np.ndarray:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or 0 in image.shape:
        raise InvalidInput(f"{name} must be a non-empty uint8 [H,W,3] image, got {image.dtype} {list(image.shape)}")
    return np.ascontiguousarray(image)


class ExpertModel:
    """Base of the Python-backend models: parses parameters, answers each request on its own.

    Subclasses set `name`, `backends` (backend name → factory taking the parameter dict) and
    implement `outputs(request_inputs) -> dict[str, np.ndarray]`.
    """

    name = "expert"
    backends: ClassVar[Mapping[str, Callable[[dict[str, str]], Any]]] = {}

    def initialize(self, args: dict[str, str]) -> None:
        self.pb = importlib.import_module("triton_python_backend_utils")
        self.model_config = json.loads(args["model_config"])
        self.model_version = str(args.get("model_version", ""))
        self.params = model_parameters(self.model_config)
        self.backend_name = self.params.get("backend", "").strip()
        self.backend = select_backend(self.name, self.backends, self.params)

    def base_meta(self) -> dict[str, Any]:
        return {"model": self.name, "model_version": self.model_version, "backend": self.backend_name}

    def input(self, request: Any, name: str) -> np.ndarray:
        tensor = self.pb.get_input_tensor_by_name(request, name)
        if tensor is None:
            raise InvalidInput(f"missing input tensor {name}")
        return tensor.as_numpy()

    def outputs(self, request: Any) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def execute(self, requests: list[Any]) -> list[Any]:
        pb = self.pb
        responses = []
        for request in requests:
            try:
                tensors = [pb.Tensor(name, value) for name, value in self.outputs(request).items()]
                responses.append(pb.InferenceResponse(output_tensors=tensors))
            except Exception as error:  # noqa: BLE001 - one bad request never fails the others or the model
                responses.append(pb.InferenceResponse(output_tensors=[], error=self.triton_error(error)))
        return responses

    def triton_error(self, error: Exception) -> Any:
        error_type = self.pb.TritonError
        if isinstance(error, OracleMiss):  # not NOT_FOUND: clients read that as "no such model"
            return error_type(f"{self.name}: {error.args[0]}", error_type.INVALID_ARG)
        if isinstance(error, InvalidInput):
            return error_type(f"{self.name}: {error}", error_type.INVALID_ARG)
        return error_type(f"{self.name}: {type(error).__name__}: {error}", error_type.INTERNAL)

    def finalize(self) -> None:
        self.backend = None
