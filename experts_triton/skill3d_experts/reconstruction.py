"""Multi-view reconstruction expert: `IMAGES` UINT8 [N,H,W,3] (views of one scene) →
`POSES` FP32 [N,4,4], `INTRINSICS` FP32 [N,3,3], `POINTS` FP32 [N,H,W,3], `META`; with the
optional `AZIMUTH` / `ELEVATION` FP32 [1] inputs also `RENDER` UINT8 [H,W,3] + `RENDER_POSE` FP32 [4,4].

Poses are camera-to-world in OpenCV camera convention, metric, expressed in the frame of the
first view (POSES[0] is the identity), as a feed-forward reconstructor (VGGT, Pi3) reports them.
`POINTS` is the per-pixel point map in that frame (NaN where there is no depth). The novel view
orbits the scene: the first camera turned about the point cloud's median by `AZIMUTH` degrees
about its up axis (-y; positive moves the camera to its right) then `ELEVATION` degrees about its
x axis (positive raises it to look down), rendered from the coloured point map with a z-buffer
and view 0's intrinsics; pixels no point reaches are black. (0, 0) reproduces view 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from skill3d_experts._triton import ExpertModel, InvalidInput, check_image, float_param, meta_tensor_value
from skill3d_experts.checkpoint import checkpoint_dir
from skill3d_experts.noise import OracleNoise, rotation_from_axis_angle
from skill3d_experts.oracle import OracleTruths, oracle_root_param
from skill3d_experts.oracle_store import OracleStore


def relative_poses(poses_c2w: np.ndarray) -> np.ndarray:
    """Camera-to-world poses [N,4,4] re-expressed in the first camera's frame: inv(P0) @ Pi."""
    poses = np.asarray(poses_c2w, dtype=np.float64)
    relative = np.linalg.inv(poses[0]) @ poses
    relative[:, 3, :] = (0.0, 0.0, 0.0, 1.0)
    return relative.astype(np.float32)


def point_map(depth: np.ndarray, intrinsics: np.ndarray, pose_c2w: np.ndarray) -> np.ndarray:
    """Per-pixel 3D points [H,W,3] of a z-depth map, mapped by `pose_c2w`; NaN where depth is invalid."""
    height, width = depth.shape
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    z = np.where(np.isfinite(depth) & (depth > 0), depth, np.nan).astype(np.float64)
    fx, fy, cx, cy = intrinsics[0, 0], intrinsics[1, 1], intrinsics[0, 2], intrinsics[1, 2]
    camera = np.stack([(cols - cx) * z / fx, (rows - cy) * z / fy, z], axis=-1)
    pose = np.asarray(pose_c2w, dtype=np.float64)
    return (camera @ pose[:3, :3].T + pose[:3, 3]).astype(np.float32)


def orbit_pose(pivot: np.ndarray, azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """Camera-to-world pose of view 0's camera orbited about `pivot` (see the module docstring)."""
    turn = rotation_from_axis_angle(np.array([0.0, -1.0, 0.0]) * np.deg2rad(azimuth_deg))
    tilt = rotation_from_axis_angle(turn @ np.array([1.0, 0.0, 0.0]) * np.deg2rad(-elevation_deg))
    rotation = tilt @ turn
    pose = np.eye(4)
    pose[:3, :3] = rotation
    pose[:3, 3] = pivot - rotation @ pivot
    return pose


def render_points(points: np.ndarray, colors: np.ndarray, pose_c2w: np.ndarray, intrinsics: np.ndarray, height: int, width: int) -> np.ndarray:
    """Z-buffered splat of coloured points [M,3] into a pinhole camera; uncovered pixels are 0."""
    world_to_camera = np.linalg.inv(pose_c2w)
    camera = points.astype(np.float64) @ world_to_camera[:3, :3].T + world_to_camera[:3, 3]
    z = camera[:, 2]
    front = np.isfinite(z) & (z > 1e-6)
    camera, colors, z = camera[front], colors[front], z[front]
    u = np.rint(intrinsics[0, 0] * camera[:, 0] / z + intrinsics[0, 2]).astype(np.int64)
    v = np.rint(intrinsics[1, 1] * camera[:, 1] / z + intrinsics[1, 2]).astype(np.int64)
    inside = (u >= 0) & (u < width) & (v >= 0) & (v < height)
    pixel, z, colors = v[inside] * width + u[inside], z[inside], colors[inside]
    order = np.lexsort((z, pixel))  # by pixel, nearest first
    pixel, colors = pixel[order], colors[order]
    first = np.unique(pixel, return_index=True)[1]
    image = np.zeros((height * width, 3), dtype=np.uint8)
    image[pixel[first]] = colors[first]
    return image.reshape(height, width, 3)


@dataclass
class NovelView:
    image: np.ndarray  # uint8 [H,W,3]
    pose_c2w: np.ndarray  # float32 [4,4], in view 0's frame


@dataclass
class ReconstructionPrediction:
    poses_c2w: np.ndarray  # float32 [N,4,4], relative to view 0
    intrinsics: np.ndarray  # float32 [N,3,3]
    points: np.ndarray | None = None  # float32 [N,H,W,3], view 0's frame
    render: NovelView | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class OracleReconstruction:
    """Relative poses, intrinsics and point maps from the stored truth of each view; seeded pose
    noise (views after the first), a depth scale error, the per-scene reconstruction drift
    (scaling points) and the two-view reversal when configured."""

    def __init__(self, store: OracleStore, noise: OracleNoise | None = None):
        self.truths = OracleTruths(store)
        self.noise = noise or OracleNoise()

    @classmethod
    def from_params(cls, params: dict[str, str]) -> OracleReconstruction:
        return cls(OracleStore(oracle_root_param("reconstruction", params)), OracleNoise.from_params("reconstruction", params))

    def predict(
        self, images: np.ndarray, *, points: bool = False, view: tuple[float, float] | None = None
    ) -> ReconstructionPrediction:
        if images.ndim != 4 or images.shape[0] == 0:
            raise InvalidInput(f"IMAGES must be UINT8 [N,H,W,3] with N >= 1, got {images.dtype} {list(images.shape)}")
        views = [check_image(image, f"IMAGES[{index}]") for index, image in enumerate(images)]
        keys, truths = zip(*(self.truths.get(view) for view in views))
        scenes = sorted({truth.scene for truth in truths})
        if len(scenes) > 1:
            raise InvalidInput(f"IMAGES must show one scene, got views of {scenes}")
        poses = relative_poses(np.stack([truth.pose_c2w for truth in truths]))
        poses = np.stack([poses[0], *(self.noise.perturb_pose(p, k) for p, k in zip(poses[1:], keys[1:]))])
        flipped = self.noise.two_view_flipped(keys, float(np.linalg.norm(poses[-1, :3, 3])))
        if flipped:  # the other decomposition: the second camera on the far side of the first
            poses[1, :3, 3] *= -1
        intrinsics = np.stack([truth.intrinsics for truth in truths]).astype(np.float32)
        prediction = ReconstructionPrediction(
            poses_c2w=poses,
            intrinsics=intrinsics,
            meta={
                "frame_keys": list(keys),
                "scene": scenes[0],
                "frame_indices": [truth.frame_index for truth in truths],
            },
        )
        if self.noise.enabled:
            prediction.meta["noise"] = self.noise.describe()
        if flipped:
            prediction.meta["applied_two_view_flip"] = True
        if points or view is not None:
            scale = np.float32(self.noise.depth_scale(keys[0]))
            cloud = np.stack([point_map(t.depth * scale, k, p) for t, k, p in zip(truths, intrinsics, poses)])
            drift = self.noise.reconstruction_scale(keys, float(np.linalg.norm(poses[:, :3, 3], axis=1).max()))
            if drift != 1.0:  # about the first camera, the origin of the relative poses
                cloud = (cloud * np.float32(drift)).astype(np.float32)
                prediction.meta["applied_reconstruction_scale"] = drift
            if points:
                prediction.points = cloud
            if view is not None:
                prediction.render = self.render(cloud, np.stack(views), intrinsics[0], *view)
        return prediction

    @staticmethod
    def render(cloud: np.ndarray, images: np.ndarray, intrinsics: np.ndarray, azimuth: float, elevation: float) -> NovelView:
        flat, colors = cloud.reshape(-1, 3), images.reshape(-1, 3)
        valid = np.isfinite(flat).all(axis=1)
        if not valid.any():
            raise InvalidInput("no view has valid depth to render from")
        pose = orbit_pose(np.median(flat[valid].astype(np.float64), axis=0), azimuth, elevation)
        height, width = images.shape[1:3]
        image = render_points(flat[valid], colors[valid], pose, intrinsics.astype(np.float64), height, width)
        return NovelView(image=image, pose_c2w=pose.astype(np.float32))


def estimate_intrinsics(local_points: np.ndarray) -> np.ndarray:
    """Pinhole K [3,3] that best maps camera-frame points [H,W,3] to their pixels (least squares,
    pixel centres at integer coordinates): u = fx·x/z + cx, v = fy·y/z + cy."""
    height, width = local_points.shape[:2]
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    z = local_points[..., 2].astype(np.float64)
    valid = np.isfinite(local_points).all(axis=-1) & (z > 1e-9)
    if valid.sum() < 2:
        raise ValueError("the point map has too few valid points to estimate intrinsics")
    k = np.eye(3)
    for axis, pixels in ((0, cols), (1, rows)):
        ratio = local_points[..., axis][valid] / z[valid]
        design = np.stack([ratio, np.ones_like(ratio)], axis=1)
        (focal, centre), *_ = np.linalg.lstsq(design, pixels[valid], rcond=None)
        k[axis, axis], k[axis, 2] = focal, centre
    return k.astype(np.float32)


class OnnxReconstruction:
    """A generic runner for a feed-forward multi-view reconstructor exported to ONNX (Pi3, VGGT…)
    with the signature documented in experts_triton/README.md: `images` FP32 [1,N,3,H,W] in [0, 1]
    → `camera_poses` FP32 [1,N,4,4] (camera-to-world, OpenCV) and `points` FP32 [1,N,H,W,3] in
    the same world frame. Poses and points are re-expressed in view 0's frame and intrinsics are
    fitted to each view's points, so the outputs match the oracle's contract."""

    def __init__(self, checkpoint: Path, threads: int = 1, device: str = "cpu"):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if device.startswith("cuda") else ["CPUExecutionProvider"]
        self.session = onnxruntime.InferenceSession(str(checkpoint / "model.onnx"), options, providers=providers)
        names = ({i.name for i in self.session.get_inputs()}, {o.name for o in self.session.get_outputs()})
        if "images" not in names[0] or not {"camera_poses", "points"} <= names[1]:
            raise ValueError(
                f"reconstruction: {checkpoint / 'model.onnx'} has inputs {sorted(names[0])} and outputs {sorted(names[1])}; "
                "the runner needs input 'images' and outputs 'camera_poses', 'points'"
            )
        self.checkpoint = checkpoint

    @classmethod
    def from_params(cls, params: dict[str, str]) -> OnnxReconstruction:
        threads = int(float_param("reconstruction", params, "torch_threads", 1.0, minimum=1.0))
        return cls(checkpoint_dir("reconstruction", params, "model.onnx"), threads, params.get("device", "cpu"))

    def predict(self, images: np.ndarray, *, points: bool = False, view: tuple[float, float] | None = None) -> ReconstructionPrediction:
        if images.ndim != 4 or images.shape[0] == 0:
            raise InvalidInput(f"IMAGES must be UINT8 [N,H,W,3] with N >= 1, got {images.dtype} {list(images.shape)}")
        views = np.stack([check_image(image, f"IMAGES[{index}]") for index, image in enumerate(images)])
        batch = (views.astype(np.float32) / 255.0).transpose(0, 3, 1, 2)[None]
        poses_world, points_world = self.session.run(["camera_poses", "points"], {"images": batch})
        world_to_first = np.linalg.inv(poses_world[0, 0].astype(np.float64))
        poses = relative_poses(poses_world[0])
        cloud = (points_world[0].astype(np.float64) @ world_to_first[:3, :3].T + world_to_first[:3, 3]).astype(np.float32)
        intrinsics = np.stack([
            estimate_intrinsics(((cloud[i].astype(np.float64) - poses[i, :3, 3]) @ poses[i, :3, :3].astype(np.float64)).astype(np.float32))
            for i in range(len(views))
        ])
        prediction = ReconstructionPrediction(poses_c2w=poses, intrinsics=intrinsics, meta={"checkpoint": self.checkpoint.name, "views": len(views)})
        if points:
            prediction.points = cloud
        if view is not None:
            prediction.render = OracleReconstruction.render(cloud, views, intrinsics[0], *view)
        return prediction


class TritonPythonModel(ExpertModel):
    name = "reconstruction"
    backends: ClassVar[dict[str, Callable[[dict[str, str]], Any]]] = {
        "oracle": OracleReconstruction.from_params,
        "real": OnnxReconstruction.from_params,
    }

    def outputs(self, request: Any) -> dict[str, np.ndarray]:
        wanted = self.requested(request)
        azimuth, elevation = self.optional_input(request, "AZIMUTH"), self.optional_input(request, "ELEVATION")
        if (azimuth is None) != (elevation is None):
            raise InvalidInput("send AZIMUTH and ELEVATION together (degrees, FP32 [1]) or neither")
        view = None
        if azimuth is not None:
            if azimuth.size != 1 or elevation.size != 1 or not np.isfinite([azimuth.item(), elevation.item()]).all():
                raise InvalidInput("AZIMUTH and ELEVATION must each be one finite FP32 value (degrees)")
            view = (float(azimuth.item()), float(elevation.item()))
        elif wanted & {"RENDER", "RENDER_POSE"}:
            raise InvalidInput("RENDER needs the AZIMUTH and ELEVATION inputs")
        prediction = self.backend.predict(self.input(request, "IMAGES"), points="POINTS" in wanted, view=view)
        outputs = {
            "POSES": prediction.poses_c2w,
            "INTRINSICS": prediction.intrinsics,
            "META": meta_tensor_value({**self.base_meta(), **prediction.meta}),
        }
        if prediction.points is not None:
            outputs["POINTS"] = prediction.points
        if prediction.render is not None:
            outputs["RENDER"], outputs["RENDER_POSE"] = prediction.render.image, prediction.render.pose_c2w
        return {name: value for name, value in outputs.items() if name in wanted}
