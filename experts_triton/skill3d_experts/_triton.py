"""The Python-backend side shared by every expert: config parameters, per-request errors, META.

An expert module defines a pure `predict`-style backend (unit-testable without Triton) and a
`TritonPythonModel(ExpertModel)` that only moves tensors in and out. `triton_python_backend_utils`
exists only inside the backend stub, so it is imported when a model is initialised.
"""

from __future__ import annotations

import importlib
import json
import os
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


# Every config parameter some expert reads. The launcher sets its parameters on every model it
# loads, so each model accepts the whole set; a key outside it is a typo (`depth_scale_noise`)
# that would otherwise change nothing, silently.
KNOWN_PARAMETERS = frozenset({
    "backend", "oracle_root", "checkpoint", "torch_threads", "text_detector",
    "fov_deg", "box_threshold", "scale",
    "noise_seed", "depth_scale_error", "box_jitter_px", "miss_rate", "pose_noise_deg", "pose_noise_m", "angle_noise_deg",
    "depth_error_per_m", "depth_range_m", "depth_object_error_per_m", "reconstruction_drift", "reconstruction_baseline_m", "two_view_flip_rate", "merge_gap_px", "merge_min_instances", "detection_min_area_px",
})


def check_parameter_names(model: str, params: Mapping[str, str]) -> None:
    unknown = sorted(set(params) - KNOWN_PARAMETERS)
    if unknown:
        raise ValueError(f"{model}: unknown config parameter(s) {unknown} (known: {', '.join(sorted(KNOWN_PARAMETERS))})")


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


def float_param(model: str, params: Mapping[str, str], key: str, default: float, *, minimum: float = 0.0) -> float:
    """A numeric config parameter; a malformed or out-of-range value fails the load naming the key."""
    raw = params.get(key, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{model}: config parameter {key!r} must be a number, got {raw!r}") from None
    if not np.isfinite(value) or value < minimum:
        raise ValueError(f"{model}: config parameter {key!r} must be a finite number >= {minimum:g}, got {raw!r}")
    return value


def text_input(values: np.ndarray) -> list[str]:
    """Strings of a BYTES tensor (any shape), decoded as UTF-8."""
    return [value.decode("utf-8") if isinstance(value, bytes) else str(value) for value in values.reshape(-1)]


class ExpertModel:
    """Base of the Python-backend models: parses parameters, answers each request on its own.

    Subclasses set `name`, `backends` (backend name → factory taking the parameter dict) and
    implement `outputs(request) -> dict[str, np.ndarray]`, or `answer(requests)` when the
    backend gains from seeing the whole list Triton hands over (one forward pass per batch).
    """

    name = "expert"
    backends: ClassVar[Mapping[str, Callable[[dict[str, str]], Any]]] = {}

    def initialize(self, args: dict[str, str]) -> None:
        self.pb = importlib.import_module("triton_python_backend_utils")
        self.model_config = json.loads(args["model_config"])
        self.model_version = str(args.get("model_version", ""))
        self.params = model_parameters(self.model_config)
        check_parameter_names(self.name, self.params)
        # where a `real` backend finds a relative `checkpoint`: this version's directory
        self.params["version_dir"] = os.path.join(str(args.get("model_repository", "")), self.model_version)
        # a `real` backend runs its network where Triton placed this instance (KIND_GPU → cuda:<id>)
        gpu = str(args.get("model_instance_kind", "CPU")).upper() == "GPU"
        self.params["device"] = f"cuda:{args.get('model_instance_device_id', 0)}" if gpu else "cpu"
        self.backend_name = self.params.get("backend", "").strip()
        self.backend = select_backend(self.name, self.backends, self.params)

    def base_meta(self) -> dict[str, Any]:
        return {"model": self.name, "model_version": self.model_version, "backend": self.backend_name}

    def input(self, request: Any, name: str) -> np.ndarray:
        tensor = self.pb.get_input_tensor_by_name(request, name)
        if tensor is None:
            raise InvalidInput(f"missing input tensor {name}")
        return tensor.as_numpy()

    def optional_input(self, request: Any, name: str) -> np.ndarray | None:
        tensor = self.pb.get_input_tensor_by_name(request, name)
        return None if tensor is None else tensor.as_numpy()

    def outputs(self, request: Any) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def requested(self, request: Any) -> set[str]:
        """Output names the client asked for (all of them when it named none)."""
        names = request.requested_output_names()
        return set(names) if names else {output["name"] for output in self.model_config.get("output", [])}

    def answer(self, requests: list[Any]) -> list[dict[str, np.ndarray] | Exception]:
        """Outputs (or the failure) of each request; override to batch the list."""
        return [self.attempt(self.outputs, request) for request in requests]

    def answer_items(
        self,
        requests: list[Any],
        items: Callable[[Any], list[Any]],
        predict_batch: Callable[[list[Any]], list[Any]],
        pack: Callable[[list[Any]], dict[str, np.ndarray]],
    ) -> list[dict[str, np.ndarray] | Exception]:
        """Batch across requests: `items(request)` splits each request into items (e.g. images),
        `predict_batch` answers all items of all requests at once (a prediction or an exception
        per item), `pack` turns one request's predictions into its output tensors. A request
        fails with the first failure among its items; the others are unaffected."""
        parsed = [self.attempt(items, request) for request in requests]
        flat = [item for group in parsed if not isinstance(group, Exception) for item in group]
        predictions = self.attempt(predict_batch, flat) if flat else []
        if isinstance(predictions, Exception):  # the backend failed as a whole: every request says so
            predictions = [predictions] * len(flat)
        remaining = iter(predictions)
        answers: list[dict[str, np.ndarray] | Exception] = []
        for group in parsed:
            if isinstance(group, Exception):
                answers.append(group)
                continue
            mine = [next(remaining) for _ in group]
            failure = next((p for p in mine if isinstance(p, Exception)), None)
            answers.append(failure if failure is not None else self.attempt(pack, mine))
        return answers

    @staticmethod
    def attempt(function: Callable[..., Any], *args: Any) -> Any:
        try:
            return function(*args)
        except Exception as error:  # noqa: BLE001 - one bad request never fails the others or the model
            return error

    def execute(self, requests: list[Any]) -> list[Any]:
        pb = self.pb
        responses = []
        for request, outputs in zip(requests, self.answer(requests), strict=True):
            if isinstance(outputs, Exception):
                responses.append(pb.InferenceResponse(output_tensors=[], error=self.triton_error(outputs)))
            else:
                tensors = [pb.Tensor(name, value) for name, value in outputs.items()]
                responses.append(pb.InferenceResponse(output_tensors=tensors))
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
