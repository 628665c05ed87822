"""`skill3d-eval experts convert vggt | pi3`: tiny modules answering in exactly each family's
output format (VGGT: `pose_enc` of world-to-camera extrinsics with an x y z w quaternion and
`world_points`; Pi3: camera-to-world `camera_poses` and `points`) for known cameras are
exported, and the ONNX files are run by the real runner (`OnnxReconstruction` in the experts'
venv, onnxruntime): poses, point maps and fitted intrinsics must come back as the known ones,
for view counts and image sizes other than the exported example's."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation
from torch import nn

from skill3d_eval.cli import main
from skill3d_eval.experts.convert import ConversionError
from skill3d_eval.experts.convert_reconstruction import (
    export_reconstructor,
    load_released,
    runner_signature,
)
from skill3d_eval.settings import EXPERTS_VENV

NETWORK = (28, 42)  # height, width: multiples of the 14-pixel patch
FX, FY = 30.0, 33.0  # focal lengths (pixels) at the network size
DEPTHS = (2.0, 3.0, 1.5, 2.5)  # constant per view: point maps are affine in the pixel, so resizing them is exact


def known_cameras(count: int = 4) -> np.ndarray:
    """Camera-to-world poses [count,4,4] (OpenCV cameras), random rotations and translations."""
    poses = np.tile(np.eye(4), (count, 1, 1))
    poses[:, :3, :3] = Rotation.random(count, random_state=3).as_matrix()
    poses[:, :3, 3] = np.random.default_rng(3).normal(size=(count, 3))
    return poses


def camera_points(height: int, width: int, depth: torch.Tensor) -> torch.Tensor:
    """[N,H,W,3] camera-frame points of a pinhole with centre (W/2, H/2) (VGGT's intrinsics), pixels at integer coordinates."""
    v, u = torch.meshgrid(torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32), indexing="ij")
    rays = torch.stack([(u - width / 2) / FX, (v - height / 2) / FY, torch.ones_like(u)], dim=-1)
    return rays[None] * depth[:, None, None, None]


def to_world(poses: torch.Tensor, local: torch.Tensor) -> torch.Tensor:
    return torch.einsum("nij,nhwj->nhwi", poses[:, :3, :3], local) + poses[:, None, None, :3, 3]


class TinyVGGT(nn.Module):
    """VGGT's forward contract: images [B,S,3,H,W] → pose_enc [B,S,9] (absT_quaR_FoV of the
    world-to-camera extrinsics, quaternion x y z w), depth, world_points, confidences, images."""

    def __init__(self, poses_c2w: np.ndarray):
        super().__init__()
        world_to_camera = np.linalg.inv(poses_c2w)
        quaternion = Rotation.from_matrix(world_to_camera[:, :3, :3]).as_quat()  # x y z w, as vggt.utils.rotation
        quaternion *= np.where(quaternion[:, 3:] < 0, -1.0, 1.0) * np.array([[1.0], [2.0], [0.5], [1.0]])[: len(quaternion)]  # VGGT does not normalise
        self.register_buffer("translation_quaternion", torch.tensor(np.concatenate([world_to_camera[:, :3, 3], quaternion], 1), dtype=torch.float32))
        self.register_buffer("poses", torch.tensor(poses_c2w, dtype=torch.float32))
        self.register_buffer("depths", torch.tensor(DEPTHS, dtype=torch.float32))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        batch, views, _, height, width = images.shape
        fov = torch.stack([2 * torch.atan(height / 2 / torch.tensor(FY)), 2 * torch.atan(width / 2 / torch.tensor(FX))])
        pose_enc = torch.cat([self.translation_quaternion[:views], fov.expand(views, 2)], dim=-1)[None].expand(batch, views, 9)
        depth = self.depths[:views, None, None].expand(views, height, width)
        world = to_world(self.poses[:views], camera_points(height, width, self.depths[:views]))
        ones = torch.ones(batch, views, height, width)
        return {
            "pose_enc": pose_enc, "pose_enc_list": [pose_enc], "depth": depth[None, ..., None].expand(batch, -1, -1, -1, 1),
            "depth_conf": ones, "world_points": world[None].expand(batch, -1, -1, -1, -1), "world_points_conf": ones, "images": images,
        }


class TinyPi3(nn.Module):
    """Pi3's forward contract: imgs [B,N,3,H,W] → points, local_points [B,N,H,W,3], conf [B,N,H,W,1], camera_poses [B,N,4,4] (camera-to-world)."""

    def __init__(self, poses_c2w: np.ndarray):
        super().__init__()
        self.register_buffer("poses", torch.tensor(poses_c2w, dtype=torch.float32))
        self.register_buffer("depths", torch.tensor(DEPTHS, dtype=torch.float32))

    def forward(self, imgs: torch.Tensor) -> dict[str, torch.Tensor]:
        batch, views, _, height, width = imgs.shape
        poses = self.poses[:views][None].expand(batch, -1, -1, -1)
        local = camera_points(height, width, self.depths[:views])[None].expand(batch, -1, -1, -1, -1)
        homogeneous = torch.cat([local, torch.ones_like(local[..., :1])], dim=-1)
        points = torch.einsum("bnij, bnhwj -> bnhwi", poses, homogeneous)[..., :3]
        return {"points": points, "local_points": local, "conf": torch.zeros(batch, views, height, width, 1), "camera_poses": poses}


RUN_THE_RUNNER = """
import sys
from pathlib import Path
import numpy as np
from skill3d_experts.reconstruction import OnnxReconstruction
runner = OnnxReconstruction(Path(sys.argv[1]))
results = {}
for size in sys.argv[3:]:
    height, width, views = (int(v) for v in size.split("x"))
    images = np.random.default_rng(0).integers(0, 256, (views, height, width, 3), dtype=np.uint8)
    prediction = runner.predict(images, points=True)
    results.update({f"{size}/poses": prediction.poses_c2w, f"{size}/intrinsics": prediction.intrinsics, f"{size}/points": prediction.points})
np.savez(sys.argv[2], **results)
"""


def run_the_runner(checkpoint, tmp_path, sizes: list[str]) -> dict[str, np.ndarray]:
    """The runner's `predict` in the experts' venv (onnxruntime lives there), for HxWxN inputs."""
    out = tmp_path / "runner.npz"
    done = subprocess.run(
        [str(EXPERTS_VENV / "bin" / "python"), "-c", RUN_THE_RUNNER, str(checkpoint), str(out), *sizes],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(np.load(out))


@pytest.mark.parametrize("family, module", [("vggt", TinyVGGT), ("pi3", TinyPi3)])
def test_exported_onnx_gives_the_known_cameras_and_points_through_the_runner(family, module, tmp_path):
    cameras = known_cameras()
    checkpoint = export_reconstructor(module(cameras).eval(), family, tmp_path / family, NETWORK)
    results = run_the_runner(checkpoint, tmp_path, ["28x42x3", "14x21x2", "28x42x4"])
    for views in (3, 2, 4):
        relative = np.linalg.inv(cameras[0]) @ cameras[:views]
        size = {3: "28x42x3", 2: "14x21x2", 4: "28x42x4"}[views]
        np.testing.assert_allclose(results[f"{size}/poses"], relative, atol=2e-5)
    # network size = image size: the point maps pass unchanged, K is the network's pinhole
    expected = to_world(torch.tensor(np.linalg.inv(cameras[0]) @ cameras[:3], dtype=torch.float32), camera_points(28, 42, torch.tensor(DEPTHS[:3])))
    np.testing.assert_allclose(results["28x42x3/points"], expected.numpy(), atol=1e-4)
    np.testing.assert_allclose(results["28x42x3/intrinsics"], np.broadcast_to([[FX, 0, 21], [0, FY, 14], [0, 0, 1]], (3, 3, 3)), atol=1e-3)
    # half-size views: the point maps are resampled (pixel centres aligned), so K is halved about the centres
    half = [[FX / 2, 0, (21 + 0.5) / 2 - 0.5], [0, FY / 2, (14 + 0.5) / 2 - 0.5], [0, 0, 1]]
    np.testing.assert_allclose(results["14x21x2/intrinsics"], np.broadcast_to(half, (2, 3, 3)), atol=1e-3)


def test_vggt_pose_encoding_becomes_camera_to_world():
    cameras = known_cameras()
    wrapper = runner_signature(TinyVGGT(cameras).eval(), "vggt", NETWORK)
    with torch.no_grad():
        poses, points = wrapper(torch.rand(1, 4, 3, 28, 42))
    np.testing.assert_allclose(poses[0].numpy(), cameras, atol=2e-5)  # the un-normalised quaternions too
    assert points.shape == (1, 4, 28, 42, 3)


def test_bad_sizes_existing_output_and_unknown_family_are_refused(tmp_path):
    with pytest.raises(ConversionError, match="multiples of the 14-pixel patch"):
        runner_signature(TinyPi3(known_cameras()), "pi3", (30, 42))
    with pytest.raises(ConversionError, match="unknown reconstruction family 'dust3r'"):
        runner_signature(TinyPi3(known_cameras()), "dust3r", NETWORK)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "model.onnx").write_text("")
    with pytest.raises(ConversionError, match="exists and is not empty"):
        export_reconstructor(TinyPi3(known_cameras()), "pi3", tmp_path / "full", NETWORK)


@pytest.mark.parametrize("family, package, install", [
    ("vggt", "vggt", "pip install git+https://github.com/facebookresearch/vggt"),
    ("pi3", "pi3", "pip install git+https://github.com/yyfz/Pi3"),
])
def test_a_missing_family_package_says_what_to_install(family, package, install, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, package, None)  # not importable, whatever is installed
    with pytest.raises(ConversionError, match=f"needs its own package '{package}'.*{re.escape(install)}"):
        load_released(family, tmp_path / "model.pt")
    assert main(["experts", "convert", family, "--weights", str(tmp_path / "model.pt"), "--out", str(tmp_path / "out")]) == 2
    assert install in capsys.readouterr().err
