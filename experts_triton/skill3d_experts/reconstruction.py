"""Multi-view reconstruction expert: `IMAGES` UINT8 [N,H,W,3] (views of one scene) →
`POSES` FP32 [N,4,4], `INTRINSICS` FP32 [N,3,3], `META`.

Poses are camera-to-world in OpenCV camera convention, metric, expressed in the frame of the
first view (POSES[0] is the identity), as a feed-forward reconstructor (VGGT, Pi3) reports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from skill3d_experts._triton import ExpertModel, InvalidInput, check_image, meta_tensor_value
from skill3d_experts.oracle import OracleTruths, oracle_root_param
from skill3d_experts.oracle_store import OracleStore


def relative_poses(poses_c2w: np.ndarray) -> np.ndarray:
    """Camera-to-world poses [N,4,4] re-expressed in the first camera's frame: inv(P0) @ Pi."""
    poses = np.asarray(poses_c2w, dtype=np.float64)
    relative = np.linalg.inv(poses[0]) @ poses
    relative[:, 3, :] = (0.0, 0.0, 0.0, 1.0)
    return relative.astype(np.float32)


@dataclass
class ReconstructionPrediction:
    poses_c2w: np.ndarray  # float32 [N,4,4], relative to view 0
    intrinsics: np.ndarray  # float32 [N,3,3]
    meta: dict[str, Any] = field(default_factory=dict)


class OracleReconstruction:
    """Relative poses and intrinsics from the stored truth of each view."""

    def __init__(self, store: OracleStore):
        self.truths = OracleTruths(store)

    @classmethod
    def from_params(cls, params: dict[str, str]) -> OracleReconstruction:
        return cls(OracleStore(oracle_root_param("reconstruction", params)))

    def predict(self, images: np.ndarray) -> ReconstructionPrediction:
        if images.ndim != 4 or images.shape[0] == 0:
            raise InvalidInput(f"IMAGES must be UINT8 [N,H,W,3] with N >= 1, got {images.dtype} {list(images.shape)}")
        views = [check_image(image, f"IMAGES[{index}]") for index, image in enumerate(images)]
        keys, truths = zip(*(self.truths.get(view) for view in views))
        scenes = sorted({truth.scene for truth in truths})
        if len(scenes) > 1:
            raise InvalidInput(f"IMAGES must show one scene, got views of {scenes}")
        return ReconstructionPrediction(
            poses_c2w=relative_poses(np.stack([truth.pose_c2w for truth in truths])),
            intrinsics=np.stack([truth.intrinsics for truth in truths]).astype(np.float32),
            meta={
                "frame_keys": list(keys),
                "scene": scenes[0],
                "frame_indices": [truth.frame_index for truth in truths],
            },
        )


class TritonPythonModel(ExpertModel):
    name = "reconstruction"
    backends: ClassVar[dict[str, Callable[[dict[str, str]], Any]]] = {"oracle": OracleReconstruction.from_params}

    def outputs(self, request: Any) -> dict[str, np.ndarray]:
        prediction = self.backend.predict(self.input(request, "IMAGES"))
        return {
            "POSES": prediction.poses_c2w,
            "INTRINSICS": prediction.intrinsics,
            "META": meta_tensor_value({**self.base_meta(), **prediction.meta}),
        }
