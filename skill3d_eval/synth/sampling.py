"""Sampling one complete scene: layout, camera loop, rendering, and the visibility guarantee.

A question about an object the frames never show (or show once, from one side) cannot be
answered by multi-view reasoning, so a scene is accepted only when every object covers at
least `min_visible_pixels` pixels in at least `min_views_per_object` frames. A rejected draw
is replaced by a fresh one from the same Generator, so the result is still a pure function of
the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skill3d_eval.synth.camera import sample_camera_path
from skill3d_eval.synth.layout import place_objects, sample_inventory, sample_room
from skill3d_eval.synth.render import RenderedView, render_view, visible_pixels
from skill3d_eval.synth.scene import Scene


@dataclass(frozen=True)
class SceneParams:
    """Difficulty knobs of the generator."""

    frames: int = 32
    width: int = 640
    height: int = 480
    min_objects: int = 4
    max_objects: int = 10
    min_visible_pixels: int = 30
    min_views_per_object: int = 2
    max_attempts: int = 200

    def __post_init__(self) -> None:
        if not 2 <= self.min_objects <= self.max_objects <= 10:
            raise ValueError(f"need 2 <= min_objects <= max_objects <= 10, got {self.min_objects}..{self.max_objects}")
        if self.frames < self.min_views_per_object:
            raise ValueError(f"frames ({self.frames}) must be >= min_views_per_object ({self.min_views_per_object})")
        if self.width < 16 or self.height < 16:
            raise ValueError(f"image too small: {self.width}x{self.height}")
        if self.width % 2 or self.height % 2:
            raise ValueError(f"width and height must be even (H.264 in yuv420p), got {self.width}x{self.height}")


@dataclass(frozen=True)
class RenderedScene:
    """A scene's truth and its rendered frames (in camera order)."""

    scene: Scene
    views: tuple[RenderedView, ...]


class SceneSamplingError(RuntimeError):
    """No acceptable scene within max_attempts draws (the knobs ask for the impossible)."""


def sample_scene(name: str, rng: np.random.Generator, params: SceneParams) -> RenderedScene:
    for _ in range(params.max_attempts):
        inventory = sample_inventory(rng, params.min_objects, params.max_objects)
        room = sample_room(rng, inventory)
        if room is None:
            continue
        cameras = sample_camera_path(rng, room, params.frames, params.width, params.height)
        keep_out = np.array([camera.pose_c2w[:2, 3] for camera in cameras])
        objects = place_objects(rng, room, inventory, keep_out)
        if objects is None:
            continue
        views = tuple(render_view(room, objects, camera, params.width, params.height) for camera in cameras)
        seen = visible_pixels(views, [obj.instance_id for obj in objects]) >= params.min_visible_pixels
        if np.all(seen.sum(axis=0) >= params.min_views_per_object):
            scene = Scene(name, room, objects, cameras, (params.width, params.height))
            return RenderedScene(scene, views)
    raise SceneSamplingError(
        f"{name}: no scene with every object visible within {params.max_attempts} draws ({params})"
    )
