"""Client of the Triton experts: numpy in, typed results out, typed errors.

Made for a server shared by many evaluators: gRPC (default) or HTTP, a timeout per call,
retries with exponential backoff on transient failures only (refused / unavailable /
overloaded — never on a request the model rejected, never after a timeout), a circuit breaker
per model, one reused connection, optional auth headers and TLS, and an optional on-disk
content-addressed result cache. Tensor contracts are documented in `experts_triton/README.md`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from skill3d_eval.experts.breaker import CircuitBreaker
from skill3d_eval.experts.cache import ResultCache, cache_key
from skill3d_eval.experts.errors import CircuitOpen, ExpertInputError, ExpertRequestError, ExpertUnavailable
from skill3d_eval.experts.results import (
    DepthResult,
    DetectionResult,
    NovelViewResult,
    OrientationResult,
    ReconstructionResult,
    SegmentationResult,
    SuperResolutionResult,
)
from skill3d_eval.experts.transport import ModelFailure, WireProtocol, TLSConfig, Transport, TransportFailure
from skill3d_eval.records import ExpertCacheStats, ServedExpert


def _check_image(image: Any, what: str = "image") -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise ExpertInputError(f"{what} must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or 0 in image.shape:
        raise ExpertInputError(
            f"{what} must be a non-empty uint8 RGB array [H,W,3], got {image.dtype} {list(image.shape)}"
        )
    return np.ascontiguousarray(image)


def _check_views(images: Sequence[np.ndarray]) -> np.ndarray:
    views = [_check_image(image, f"images[{index}]") for index, image in enumerate(images)]
    if not views:
        raise ExpertInputError("reconstruct needs at least one image")
    if len({view.shape for view in views}) > 1:
        raise ExpertInputError(f"all images must have one size, got {sorted({view.shape for view in views})}")
    return np.stack(views)


def _check_box(box: Sequence[float], image: np.ndarray, what: str = "box") -> list[float]:
    values = [float(v) for v in np.asarray(box, dtype=np.float64).reshape(-1)]
    height, width = image.shape[:2]
    if len(values) != 4 or not (0 <= values[0] < values[2] <= width and 0 <= values[1] < values[3] <= height):
        raise ExpertInputError(f"{what} must be pixel [x1, y1, x2, y2] with 0 <= x1 < x2 <= {width}, 0 <= y1 < y2 <= {height}, got {list(box)}")
    return values


def _decode_meta(raw: np.ndarray) -> dict[str, Any]:
    value = raw.reshape(-1)[0]
    return json.loads(value.decode("utf-8") if isinstance(value, bytes) else value)


def _strings(values: Sequence[str]) -> np.ndarray:
    return np.array([value.encode("utf-8") for value in values], dtype=np.object_)


# The models of the expert repository, as the client's methods call them.
EXPERT_MODELS = ("depth", "detection", "orientation", "reconstruction", "segmentation", "super_resolution")


@dataclass
class ClientStats:
    """What this client did: calls answered by the server, by the cache, retries, failures."""

    server_calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    failures: int = 0


class ExpertsClient:
    """Calls the six expert models of one Triton server (thread-safe)."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 30.0,
        protocol: WireProtocol = "grpc",
        retries: int = 2,
        backoff_s: float = 0.05,
        breaker_threshold: int = 5,
        breaker_reset_s: float = 10.0,
        headers: Mapping[str, str] | None = None,
        tls: TLSConfig | None = None,
        cache_dir: str | Path | None = None,
    ):
        if retries < 0 or backoff_s < 0 or timeout_s <= 0:
            raise ValueError(f"need retries >= 0, backoff_s >= 0, timeout_s > 0, got {retries}, {backoff_s}, {timeout_s}")
        self.url = url
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self._transport: Transport | None = Transport(url, protocol=protocol, timeout_s=timeout_s, headers=headers, tls=tls)
        self._breaker_args = (breaker_threshold, breaker_reset_s)
        self._breakers: dict[str, CircuitBreaker] = {}
        self.cache = ResultCache(cache_dir) if cache_dir is not None else None
        self._identities: dict[str, str] = {}
        self._served: dict[str, ServedExpert] = {}
        self._lock = threading.Lock()
        self.stats = ClientStats()

    @property
    def protocol(self) -> WireProtocol:
        return self._live().protocol

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    def _live(self) -> Transport:
        if self._transport is None:
            raise RuntimeError("the experts client is closed")
        return self._transport

    def ready(self) -> bool:
        """True when the server answers and reports itself ready (every loaded model ready)."""
        return self._live().server_ready()

    def breaker(self, model: str) -> CircuitBreaker:
        with self._lock:
            if model not in self._breakers:
                self._breakers[model] = CircuitBreaker(*self._breaker_args)
            return self._breakers[model]

    # -- experts -----------------------------------------------------------------------------
    def depth(self, image: np.ndarray) -> DepthResult:
        image = _check_image(image)
        out = self.infer("depth", {"IMAGE": image[None]}, ["DEPTH", "INTRINSICS", "META"])
        return DepthResult(depth=out["DEPTH"][0], intrinsics=out["INTRINSICS"][0], meta=_decode_meta(out["META"][0]))

    def segment(self, image: np.ndarray, prompt: str | None = None, *, boxes: Sequence[Sequence[float]] | None = None) -> SegmentationResult:
        """Every instance of the category `prompt`, or one mask per pixel box in `boxes` (exactly one of the two)."""
        image = _check_image(image)
        if (prompt is None) == (boxes is None):
            raise ExpertInputError("segment needs exactly one of prompt (a category) and boxes (pixel x1, y1, x2, y2)")
        if boxes is not None:
            checked = [_check_box(box, image, f"boxes[{index}]") for index, box in enumerate(boxes)]
            if not checked:
                raise ExpertInputError("boxes must hold at least one box")
            inputs = {"IMAGE": image, "BOX_PROMPTS": np.asarray(checked, dtype=np.float32)}
        else:
            if not isinstance(prompt, str) or not prompt.strip():
                raise ExpertInputError(f"prompt must be a non-empty string, got {prompt!r}")
            inputs = {"IMAGE": image, "PROMPT": _strings([prompt])}
        out = self.infer("segmentation", inputs, ["MASKS", "BOXES", "SCORES", "META"])
        meta = _decode_meta(out["META"])
        return SegmentationResult(
            masks=out["MASKS"].astype(bool).reshape(-1, *image.shape[:2]),
            boxes=out["BOXES"].reshape(-1, 4),
            scores=out["SCORES"].reshape(-1),
            labels=list(meta.get("labels", [])),
            meta=meta,
        )

    def detect(self, image: np.ndarray, prompts: str | Sequence[str]) -> DetectionResult:
        """Boxes of every visible object named by the text prompts (a category per prompt)."""
        image = _check_image(image)
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        if not prompts or not all(isinstance(p, str) and p.strip() for p in prompts):
            raise ExpertInputError(f"prompts must be one or more non-empty strings, got {prompts!r}")
        out = self.infer("detection", {"IMAGE": image, "PROMPTS": _strings(prompts)}, ["BOXES", "SCORES", "PROMPT_INDEX", "META"])
        meta = _decode_meta(out["META"])
        return DetectionResult(
            boxes=out["BOXES"].reshape(-1, 4),
            scores=out["SCORES"].reshape(-1),
            prompt_index=out["PROMPT_INDEX"].reshape(-1),
            labels=list(meta.get("labels", [])),
            meta=meta,
        )

    def reconstruct(self, images: Sequence[np.ndarray], *, points: bool = False) -> ReconstructionResult:
        """Relative camera poses and intrinsics of the views; with `points`, the point maps too."""
        outputs = ["POSES", "INTRINSICS", "META", *(["POINTS"] if points else [])]
        out = self.infer("reconstruction", {"IMAGES": _check_views(images)}, outputs)
        return ReconstructionResult(
            poses_c2w=out["POSES"], intrinsics=out["INTRINSICS"], meta=_decode_meta(out["META"]), points=out.get("POINTS")
        )

    def render_view(self, images: Sequence[np.ndarray], azimuth_deg: float, elevation_deg: float) -> NovelViewResult:
        """The scene of `images` seen from view 0's camera orbited by azimuth / elevation (degrees)."""
        if not (np.isfinite(azimuth_deg) and np.isfinite(elevation_deg) and -90 <= elevation_deg <= 90):
            raise ExpertInputError(f"need a finite azimuth and an elevation in [-90, 90], got {azimuth_deg}, {elevation_deg}")
        inputs = {
            "IMAGES": _check_views(images),
            "AZIMUTH": np.array([azimuth_deg], dtype=np.float32),
            "ELEVATION": np.array([elevation_deg], dtype=np.float32),
        }
        out = self.infer("reconstruction", inputs, ["RENDER", "RENDER_POSE", "META"])
        return NovelViewResult(image=out["RENDER"], pose_c2w=out["RENDER_POSE"], meta=_decode_meta(out["META"]))

    def super_resolve(self, image: np.ndarray) -> SuperResolutionResult:
        out = self.infer("super_resolution", {"IMAGE": _check_image(image)}, ["IMAGE_SR", "META"])
        meta = _decode_meta(out["META"])
        return SuperResolutionResult(image=out["IMAGE_SR"], scale=int(meta.get("scale", 0)), meta=meta)

    def orient(self, image: np.ndarray, box: Sequence[float]) -> OrientationResult:
        """Orientation of the object framed by the pixel box [x1, y1, x2, y2] of `image`."""
        image = _check_image(image)
        inputs = {"IMAGE": image[None], "BOX": np.asarray([_check_box(box, image)], dtype=np.float32)}
        out = self.infer("orientation", inputs, ["ANGLES", "CONFIDENCE", "META"])
        azimuth, elevation, rotation = (float(v) for v in out["ANGLES"][0])
        return OrientationResult(azimuth, elevation, rotation, float(out["CONFIDENCE"][0][0]), _decode_meta(out["META"][0]))

    def model_identities(self, models: Sequence[str]) -> dict[str, str]:
        """'version|config digest' of each model; ExpertUnavailable names every model that is not ready."""
        transport = self._live()
        try:
            index = {entry.get("name", ""): entry for entry in transport.repository_index()}
        except (TransportFailure, ModelFailure) as error:
            raise ExpertUnavailable(f"Triton at {self.url} is not usable: {error}") from None
        missing = []
        for model in models:
            entry = index.get(model)
            if entry is None or entry.get("state") != "READY":
                state = "not in the repository" if entry is None else (entry.get("state") or "not loaded")
                missing.append(f"{model} ({state}{': ' + entry['reason'] if entry and entry.get('reason') else ''})")
        if missing:
            raise ExpertUnavailable(f"Triton at {self.url}: models not ready: {', '.join(missing)}")
        try:
            return {model: self._identity(transport, model) for model in models}
        except (TransportFailure, ModelFailure) as error:
            raise ExpertUnavailable(f"Triton at {self.url}: model metadata unavailable: {error}") from None

    def served_experts(self, models: Sequence[str]) -> dict[str, ServedExpert]:
        """Backend, version, checkpoint and config parameters of each model, read with its identity
        (so the two describe the same configuration); ExpertUnavailable as `model_identities`."""
        self.model_identities(models)
        return {model: self._served[model] for model in models}

    def cache_stats(self) -> ExpertCacheStats | None:
        if self.cache is None:
            return None
        return ExpertCacheStats(hits=self.stats.cache_hits, misses=self.stats.server_calls)

    # -- plumbing ----------------------------------------------------------------------------
    def infer(self, model: str, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]) -> dict[str, np.ndarray]:
        """One request through cache → breaker → retries → transport; raises typed expert errors."""
        key = None
        if self.cache is not None:
            identity = self._guarded(model, lambda transport: self._identity(transport, model))
            key = cache_key(model, *identity.split("|", 1), inputs, outputs)
            cached = self.cache.get(key)
            if cached is not None and set(outputs) <= set(cached):
                with self._lock:
                    self.stats.cache_hits += 1
                return cached
        version = self._identities.get(model, "|").split("|")[0]
        result = self._guarded(model, lambda transport: transport.infer(model, inputs, outputs, version))
        with self._lock:
            self.stats.server_calls += 1
        if key is not None:
            self.cache.put(key, result)
        return result

    def _identity(self, transport: Transport, model: str) -> str:
        """'version|config digest' of a model, asked once per client (the cache key needs it before the call)."""
        if model not in self._identities:
            version, parameters = transport.model_identity(model)
            digest = hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()[:16]
            # Triton reports each parameter as {"string_value": ...}
            strings = {key: str(value.get("string_value", "")) if isinstance(value, dict) else str(value) for key, value in parameters.items()}
            self._served[model] = ServedExpert.from_config(version, strings)
            self._identities[model] = f"{version}|{digest}"
        return self._identities[model]

    def _guarded(self, model: str, call: Any) -> Any:
        transport = self._live()
        breaker = self.breaker(model)
        if not breaker.allow():
            raise CircuitOpen(
                f"{model} at {self.url} unavailable: circuit open after {breaker.failures} consecutive failures "
                f"(last: {breaker.last_error}); next probe in {breaker.retry_in_s():.1f} s",
                model=model,
            )

        def count_retry(_state: Any) -> None:
            with self._lock:
                self.stats.retries += 1

        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=wait_exponential_jitter(multiplier=self.backoff_s, max=max(self.backoff_s, 2.0), jitter=self.backoff_s),
            retry=retry_if_exception(lambda error: isinstance(error, TransportFailure) and error.transient),
            before_sleep=count_retry,
            reraise=True,
        )
        try:
            result = retrying(call, transport)
        except TransportFailure as error:
            breaker.record_failure(str(error))
            with self._lock:
                self.stats.failures += 1
            raise ExpertUnavailable(f"{model} at {self.url} unavailable {error}", model=model) from None
        except ModelFailure as error:
            breaker.record_success()  # the model answered: the server is alive
            with self._lock:
                self.stats.failures += 1
            raise ExpertRequestError(f"{model} rejected the request {error}", model=model) from None
        breaker.record_success()
        return result
