"""Camera poses checked against metric depth: the reconstruction's, with each translation's sign
chosen by which side makes the images' depth maps agree.

A reconstruction from two close views has little parallax to go on, and the decomposition of
its relative motion has a second solution with the translation reversed: the second camera on
the wrong side of the first (`skill3d_experts.noise`, `two_view_flip_rate`). Metric depth tells
the two apart, as a cheirality check does: image k's pixels, back-projected with its depth and
moved into image 0 by one candidate pose, land where image 0 sees a surface at the same depth
only if the pose is right. The check costs a depth map per image, needs the views to overlap
(`MIN_AGREEMENT`), and trusts the depth, which reads far views too far: it says so rather than
guessing when neither sign makes the depths agree.
"""

from __future__ import annotations

import numpy as np

from skill3d_eval.experts import ReconstructionResult
from skill3d_eval.tools.context import ToolContext
from skill3d_eval.tools.errors import ToolError
from skill3d_eval.tools.geometry import back_project, project, transform

STRIDE = 4  # every 4th pixel of each row and column is enough to compare two depth maps
DEPTH_TOLERANCE = 0.10  # relative depth difference at which two views agree on a surface
MIN_AGREEMENT = 0.05  # share of image k's sampled pixels that must agree with image 0 for the better sign


def depth_agreement(first: np.ndarray, first_k: np.ndarray, other: np.ndarray, other_k: np.ndarray, pose: np.ndarray) -> float:
    """Share of `other`'s sampled pixels that, moved into the first camera by `pose` (other camera
    to first camera), fall inside the first image on a surface within DEPTH_TOLERANCE of their depth."""
    sampled = np.zeros(other.shape, dtype=bool)
    sampled[::STRIDE, ::STRIDE] = True
    points = transform(back_project(other, sampled, other_k), pose)
    if not len(points):
        return 0.0
    u, v, z, inside = project(points, first_k, np.eye(4), first.shape)
    seen = first[v[inside], u[inside]]
    agree = np.isfinite(seen) & (np.abs(seen - z[inside]) <= DEPTH_TOLERANCE * z[inside])
    return float(agree.sum()) / len(points)


def depth_checked_cameras(context: ToolContext) -> ReconstructionResult:
    """The reconstruction's cameras, each translation's sign the one its image's depth agrees with image 0's on."""
    cameras = context.cameras()
    poses = cameras.poses_c2w.astype(np.float64).copy()
    first = context.depth(0)
    reversed_views, agreement = [], {}
    for index in range(1, len(poses)):
        other = context.depth(index)
        scores = {}
        for sign in (1.0, -1.0):
            candidate = poses[index].copy()
            candidate[:3, 3] *= sign
            scores[sign] = depth_agreement(first.depth, first.intrinsics, other.depth, other.intrinsics, candidate)
        best = max(scores, key=lambda sign: (scores[sign], sign))
        if scores[best] < MIN_AGREEMENT:
            raise ToolError(
                f"cannot check the pose of image {index}: {scores[1.0]:.0%} of its pixels agree with image 0's depth as reconstructed, "
                f"{scores[-1.0]:.0%} with the translation reversed (at least {MIN_AGREEMENT:.0%} needed: the views overlap too little)"
            )
        poses[index, :3, 3] *= best
        agreement[index] = round(scores[best], 3)
        if best < 0:
            reversed_views.append(index)
    meta = {**cameras.meta, "pose_check": {"reversed": reversed_views, "agreement": agreement}}
    return ReconstructionResult(poses_c2w=poses.astype(np.float32), intrinsics=cameras.intrinsics, meta=meta)
