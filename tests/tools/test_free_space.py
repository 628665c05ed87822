"""Free-space carving when fusing views: exact depth loses nothing, and the mixed pixels a learned
depth model puts on an object's silhouette no longer shrink the gap to its neighbour.

The scene is rendered by spatial_synth's ray caster: a cabinet with a refrigerator behind it and
to the side (near-box shapes, so the gap is between faces), seen by a camera behind the cabinet
(whose silhouette pixels get mixed depths: half way to the farthest depth next to them, as a
blurred depth map gives them), by one looking across the gap and by one behind the refrigerator.
"""

from __future__ import annotations

import numpy as np
import pytest

from skill3d_eval.experts import DepthResult, ReconstructionResult, SegmentationResult
from skill3d_eval.records import Sample
from skill3d_eval.synth.camera import intrinsics_for, look_at
from skill3d_eval.synth.render import render_view
from skill3d_eval.synth.scene import CameraView, Room, SceneObject, closest_point_distance
from skill3d_eval.tools import ToolContext, default_toolset
from skill3d_eval.tools.geometry import DepthView, FreeSpace, back_project, cloud_gap, transform

WIDTH, HEIGHT = 128, 96
ROOM = Room(6.0, 5.0, 2.8)
CABINET = SceneObject(1, "cabinet", (2.5, 2.0, 0.4), (0.6, 0.6, 0.8))
FRIDGE = SceneObject(2, "refrigerator", (4.0, 2.9, 0.6), (0.4, 0.4, 1.2))
EYES = [((0.5, 1.5, 1.4), CABINET.center), ((3.2, 0.3, 1.4), (3.4, 3.0, 0.6)), ((5.5, 0.8, 1.4), FRIDGE.center)]


def with_mixed_silhouette(depth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mask's boundary pixels take the mean of their depth and the farthest depth next to them."""
    padded = np.pad(depth, 1, mode="edge")
    farthest = np.max([padded[dy : dy + HEIGHT, dx : dx + WIDTH] for dy in range(3) for dx in range(3)], axis=0)
    inner = np.pad(mask, 1)
    edge = mask & ~(inner[:-2, 1:-1] & inner[2:, 1:-1] & inner[1:-1, :-2] & inner[1:-1, 2:])
    mixed = depth.copy()
    mixed[edge] = (depth[edge] + farthest[edge]) / 2
    return mixed


@pytest.fixture(scope="module")
def scene():
    cameras = [CameraView(intrinsics_for(WIDTH, HEIGHT), look_at(np.array(eye), np.array(target))) for eye, target in EYES]
    views = [render_view(ROOM, (CABINET, FRIDGE), camera, WIDTH, HEIGHT) for camera in cameras]
    learned = [view.depth.astype(np.float32) for view in views]
    learned[0] = with_mixed_silhouette(learned[0], views[0].instances == CABINET.instance_id)
    return cameras, views, learned


def fused(obj, cameras, views, depths, free_space=None):
    clouds = []
    for camera, view, depth in zip(cameras, views, depths):
        points = transform(back_project(depth, view.instances == obj.instance_id, camera.intrinsics), camera.pose_c2w)
        clouds.append(points if free_space is None else points[~free_space.contains(points)])
    return np.concatenate(clouds)


def test_no_point_of_exact_depth_is_in_free_space(scene):
    cameras, views, _ = scene
    exact = FreeSpace([DepthView(view.depth, camera.intrinsics, camera.pose_c2w) for camera, view in zip(cameras, views)])
    for camera, view in zip(cameras, views):
        points = transform(back_project(view.depth, np.ones(view.depth.shape, bool), camera.intrinsics), camera.pose_c2w)
        assert not exact.contains(points).any()


def test_silhouette_mixed_pixels_shrink_the_gap_unless_the_views_that_saw_through_them_carve_them(scene):
    cameras, views, learned = scene
    truth = closest_point_distance(CABINET, FRIDGE)
    assert cloud_gap(fused(CABINET, cameras, views, learned), fused(FRIDGE, cameras, views, learned)) < 0.5 * truth
    free_space = FreeSpace([DepthView(depth, camera.intrinsics, camera.pose_c2w) for camera, depth in zip(cameras, learned)])
    carved = cloud_gap(fused(CABINET, cameras, views, learned, free_space), fused(FRIDGE, cameras, views, learned, free_space))
    assert truth - 1e-3 <= carved <= truth + 0.02


def test_a_point_is_judged_only_by_views_that_could_see_it():
    k = np.array([[100.0, 0, 50], [0, 100.0, 40], [0, 0, 1]])
    depth = np.full((80, 100), 4.0)
    depth[:, :10] = np.nan  # no depth there: nothing seen through
    free_space = FreeSpace([DepthView(depth, k, np.eye(4))], tolerance=0.05)
    points = np.array([[0.0, 0.0, 3.0], [0.0, 0.0, 3.9], [0.0, 0.0, 6.0], [-2.4, 0.0, 3.0], [0.0, 0.0, -3.0], [30.0, 0.0, 3.0]])
    # seen through; within tolerance of the surface; behind it; where depth is invalid; behind the camera; outside the image
    np.testing.assert_array_equal(free_space.contains(points), [True, False, False, False, False, False])
    with pytest.raises(ValueError, match="tolerance"):
        FreeSpace([], tolerance=-0.1)


class RenderedExperts:
    """The rendered scene as experts answer it: its depth (mixed silhouette in view 0), its instance
    masks by category, its cameras relative to view 0."""

    def __init__(self, cameras, views, depths):
        self.cameras, self.views, self.depths = cameras, views, depths

    def _index(self, image):
        return next(i for i, view in enumerate(self.views) if view.rgb is image)

    def depth(self, image):
        index = self._index(image)
        return DepthResult(self.depths[index], self.cameras[index].intrinsics.astype(np.float32))

    def segment(self, image, prompt=None, *, boxes=None):
        view = self.views[self._index(image)]
        ids = [obj.instance_id for obj in (CABINET, FRIDGE) if obj.category == prompt and (view.instances == obj.instance_id).any()]
        masks = np.stack([view.instances == i for i in ids]) if ids else np.zeros((0, HEIGHT, WIDTH), bool)
        return SegmentationResult(masks, np.zeros((len(ids), 4), np.float32), np.ones(len(ids), np.float32), [prompt] * len(ids))

    def reconstruct(self, images, *, points=False):
        first = np.linalg.inv(self.cameras[0].pose_c2w)
        poses = np.stack([first @ camera.pose_c2w for camera in self.cameras]).astype(np.float32)
        return ReconstructionResult(poses, np.stack([camera.intrinsics for camera in self.cameras]).astype(np.float32))


@pytest.mark.parametrize("exact", [True, False])
def test_measure_distance_answers_the_true_gap_with_exact_and_with_mixed_silhouette_depth(scene, exact):
    cameras, views, learned = scene
    depths = [view.depth for view in views] if exact else learned
    sample = Sample(task="t", doc_id=0, sample_id="t/test/0", question="q", frames=[view.rgb for view in views])
    observation = default_toolset().call(ToolContext(sample, RenderedExperts(cameras, views, depths)), "measure_distance", {"object_a": CABINET.category, "object_b": FRIDGE.category}, "c1")
    assert observation.ok, observation.error
    assert observation.content["closest_point_distance_m"] == pytest.approx(closest_point_distance(CABINET, FRIDGE), abs=0.02)
