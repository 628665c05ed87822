"""Client side of the 3D perception experts served by Triton (`experts_triton/`).

`ExpertsClient` calls the models (gRPC or HTTP) and returns typed results; `TritonServer`
launches a local server on the model repository (tests, demo, `skill3d-eval experts serve`).
Errors are `ExpertError` subclasses.
"""

from skill3d_eval.experts.breaker import BreakerState, CircuitBreaker
from skill3d_eval.experts.cache import ResultCache
from skill3d_eval.experts.client import ClientStats, ExpertsClient
from skill3d_eval.experts.errors import (
    CircuitOpen,
    ExpertError,
    ExpertInputError,
    ExpertRequestError,
    ExpertServerError,
    ExpertUnavailable,
)
from skill3d_eval.experts.results import (
    DepthResult,
    DetectionResult,
    NovelViewResult,
    OrientationResult,
    ReconstructionResult,
    SegmentationResult,
    SuperResolutionResult,
)
from skill3d_eval.experts.server import TritonServer, oracle_server
from skill3d_eval.experts.transport import TLSConfig

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpen",
    "ClientStats",
    "DepthResult",
    "DetectionResult",
    "ExpertError",
    "ExpertInputError",
    "ExpertRequestError",
    "ExpertServerError",
    "ExpertUnavailable",
    "ExpertsClient",
    "NovelViewResult",
    "OrientationResult",
    "ReconstructionResult",
    "ResultCache",
    "SegmentationResult",
    "SuperResolutionResult",
    "TLSConfig",
    "TritonServer",
    "oracle_server",
]
