"""Client side of the 3D perception experts served by Triton (`experts_triton/`).

`ExpertsClient` calls the models over gRPC and returns typed results; `TritonServer` launches a
local server on the model repository (tests, demo). Errors are `ExpertError` subclasses.
"""

from skill3d_eval.experts.client import ExpertsClient
from skill3d_eval.experts.errors import (
    ExpertError,
    ExpertInputError,
    ExpertRequestError,
    ExpertServerError,
    ExpertUnavailable,
)
from skill3d_eval.experts.results import DepthResult, ReconstructionResult, SegmentationResult
from skill3d_eval.experts.server import TritonServer, oracle_server

__all__ = [
    "DepthResult",
    "ExpertError",
    "ExpertInputError",
    "ExpertRequestError",
    "ExpertServerError",
    "ExpertUnavailable",
    "ExpertsClient",
    "ReconstructionResult",
    "SegmentationResult",
    "TritonServer",
    "oracle_server",
]
