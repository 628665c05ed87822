"""Client side of the 3D perception experts served by Triton (`experts_triton/`).

`ExpertsClient` calls the models (gRPC or HTTP) and returns typed results, `ReplicaPool` spreads
calls over several servers, both satisfy `Experts`; `TritonServer`
launches a local server on the model repository (tests, demo, `skill3d-eval experts serve`).
Errors are `ExpertError` subclasses.
"""

from skill3d_eval.experts.breaker import BreakerState, CircuitBreaker
from skill3d_eval.experts.cache import ResultCache
from skill3d_eval.experts.client import EXPERT_MODELS, ClientStats, ExpertsClient
from skill3d_eval.experts.errors import (
    CircuitOpen,
    ExpertError,
    ExpertInputError,
    ExpertRequestError,
    ExpertServerError,
    ExpertUnavailable,
)
from skill3d_eval.experts.results import DepthResult, DetectionResult, NovelViewResult, OrientationResult, ReconstructionResult, SegmentationResult, SuperResolutionResult
from skill3d_eval.experts.protocol import Experts, NoExperts
from skill3d_eval.experts.replicas import ReplicaPool
from skill3d_eval.experts.server import TritonServer, oracle_server
from skill3d_eval.experts.transport import TLSConfig

__all__ = [
    "EXPERT_MODELS",
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
    "Experts",
    "ExpertsClient",
    "NoExperts",
    "NovelViewResult",
    "OrientationResult",
    "ReconstructionResult",
    "ReplicaPool",
    "ResultCache",
    "SegmentationResult",
    "SuperResolutionResult",
    "TLSConfig",
    "TritonServer",
    "oracle_server",
]
