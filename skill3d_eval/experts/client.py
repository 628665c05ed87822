"""gRPC client of the Triton experts: numpy in, typed results out, typed errors.

One `tritonclient.grpc` connection is reused for every call (thread-safe for blocking calls).
Tensor contracts are documented in `experts_triton/README.md`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from skill3d_eval.experts.errors import ExpertInputError, ExpertRequestError, ExpertUnavailable
from skill3d_eval.experts.results import DepthResult, ReconstructionResult, SegmentationResult

# gRPC status codes meaning "no answer", as opposed to "the model said no". Triton answers
# NOT_FOUND for a model it has not loaded; the models themselves never use that code.
_UNAVAILABLE_CODES = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED", "RESOURCE_EXHAUSTED", "NOT_FOUND")


def _check_image(image: Any, what: str = "image") -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise ExpertInputError(f"{what} must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or 0 in image.shape:
        raise ExpertInputError(
            f"{what} must be a non-empty uint8 RGB array [H,W,3], got {image.dtype} {list(image.shape)}"
        )
    return np.ascontiguousarray(image)


def _decode_meta(raw: np.ndarray) -> dict[str, Any]:
    value = raw.reshape(-1)[0]
    return json.loads(value.decode("utf-8") if isinstance(value, bytes) else value)


class ExpertsClient:
    """Calls the `depth`, `segmentation` and `reconstruction` models of one Triton server."""

    def __init__(self, url: str, *, timeout_s: float = 30.0):
        self.url = url
        self.timeout_s = timeout_s
        self._client = grpcclient.InferenceServerClient(url)

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        # Dropping the last reference runs tritonclient's own __del__ (a second close) now,
        # while grpc is alive; left to interpreter exit it fails noisily.
        client, self._client = self._client, None
        if client is not None:
            client.close()
            del client

    def ready(self) -> bool:
        """True when the server answers and reports itself ready (every loaded model ready)."""
        try:
            return bool(self._client.is_server_ready(client_timeout=self.timeout_s))
        except InferenceServerException:
            return False

    # -- experts -----------------------------------------------------------------------------
    def depth(self, image: np.ndarray) -> DepthResult:
        image = _check_image(image)
        result = self._infer("depth", [self._input("IMAGE", image[None])], ["DEPTH", "INTRINSICS", "META"])
        return DepthResult(
            depth=np.array(result.as_numpy("DEPTH")[0]),  # copies: tritonclient hands out read-only views
            intrinsics=np.array(result.as_numpy("INTRINSICS")[0]),
            meta=_decode_meta(result.as_numpy("META")[0]),
        )

    def segment(self, image: np.ndarray, prompt: str) -> SegmentationResult:
        image = _check_image(image)
        if not isinstance(prompt, str) or not prompt.strip():
            raise ExpertInputError(f"prompt must be a non-empty string, got {prompt!r}")
        inputs = [
            self._input("IMAGE", image),
            self._input("PROMPT", np.array([prompt.encode("utf-8")], dtype=np.object_)),
        ]
        result = self._infer("segmentation", inputs, ["MASKS", "BOXES", "SCORES", "META"])
        meta = _decode_meta(result.as_numpy("META"))
        return SegmentationResult(
            masks=np.array(result.as_numpy("MASKS"), dtype=bool).reshape(-1, *image.shape[:2]),
            boxes=np.array(result.as_numpy("BOXES")).reshape(-1, 4),
            scores=np.array(result.as_numpy("SCORES")).reshape(-1),
            labels=list(meta.get("labels", [])),
            meta=meta,
        )

    def reconstruct(self, images: Sequence[np.ndarray]) -> ReconstructionResult:
        views = [_check_image(image, f"images[{index}]") for index, image in enumerate(images)]
        if not views:
            raise ExpertInputError("reconstruct needs at least one image")
        if len({view.shape for view in views}) > 1:
            raise ExpertInputError(f"all images must have one size, got {sorted({view.shape for view in views})}")
        result = self._infer(
            "reconstruction", [self._input("IMAGES", np.stack(views))], ["POSES", "INTRINSICS", "META"]
        )
        return ReconstructionResult(
            poses_c2w=np.array(result.as_numpy("POSES")),
            intrinsics=np.array(result.as_numpy("INTRINSICS")),
            meta=_decode_meta(result.as_numpy("META")),
        )

    # -- plumbing ----------------------------------------------------------------------------
    @staticmethod
    def _input(name: str, value: np.ndarray) -> grpcclient.InferInput:
        datatype = "BYTES" if value.dtype == np.object_ else "UINT8"
        tensor = grpcclient.InferInput(name, list(value.shape), datatype)
        tensor.set_data_from_numpy(value)
        return tensor

    def _infer(self, model: str, inputs: list[grpcclient.InferInput], outputs: list[str]) -> grpcclient.InferResult:
        requested = [grpcclient.InferRequestedOutput(name) for name in outputs]
        try:
            return self._client.infer(model, inputs, outputs=requested, client_timeout=self.timeout_s)
        except InferenceServerException as error:
            status = error.status() or ""
            text = error.message() or str(error)
            if any(code in status for code in _UNAVAILABLE_CODES):
                raise ExpertUnavailable(f"{model} at {self.url} unavailable ({status}): {text}", model=model) from None
            raise ExpertRequestError(f"{model} rejected the request ({status}): {text}", model=model) from None
