"""The tools' alternative sources (3D from per-image depth or from the reconstruction's point maps;
objects from text-prompted segmentation or from detector boxes) agree on exact experts, and each
carries its own documented failure mode when the oracle's scene-dependent noise is on."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from skill3d_eval.experts import ExpertsClient, oracle_server
from skill3d_eval.skills.rollouts import synth_samples
from skill3d_eval.tools import ToolContext, default_toolset

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def scene_sample(synth_root, synth_triton):
    """A training sample with a category of two or more instances that some image shows together."""
    import json

    _, samples = synth_samples(synth_root, "train", {"object_counting"})
    scenes = {}
    for sample in samples.values():
        scenes.setdefault(sample.scene, sample)
    with ExpertsClient(synth_triton.grpc_url) as client:
        for sample in scenes.values():
            truth = json.loads((synth_root / "scenes" / f"{sample.scene}.json").read_text())
            counts = Counter(o["category"] for o in truth["objects"])
            for category in (c for c, n in counts.items() if n >= 2):
                if any(len(client.segment(frame, category)) >= 2 for frame in sample.frames):
                    return sample, counts, category
    pytest.fail("no training scene shows two instances of a category in one image")


def _call(tools, context, name, **arguments):
    observation = tools.call(context, name, arguments, "t")
    assert observation.ok, observation.error
    return observation.content


def test_sources_agree_on_exact_experts(scene_sample, synth_triton):
    sample, counts, repeated = scene_sample
    tools = default_toolset()
    with ExpertsClient(synth_triton.grpc_url) as client:
        context = ToolContext(sample, client)
        for geometry in ("depth", "reconstruction"):
            for masks in ("text", "detection"):
                found = _call(tools, context, "locate_objects", category=repeated, geometry=geometry, masks=masks)
                assert found["count"] == counts[repeated], (geometry, masks)
        rooms = [_call(tools, context, "measure_room", geometry=g)["floor_area_m2"] for g in ("depth", "reconstruction")]
        assert rooms[1] == pytest.approx(rooms[0], rel=0.01)
        other = next(c for c in counts if c != repeated)
        gaps = [_call(tools, context, "measure_distance", object_a=repeated, object_b=other, geometry=g)["closest_point_distance_m"] for g in ("depth", "reconstruction")]
        assert gaps[1] == pytest.approx(gaps[0], abs=0.02)


def test_each_source_carries_its_failure_mode(scene_sample, synth_root, synth_triton, tmp_path):
    sample, counts, repeated = scene_sample
    tools = default_toolset()
    with ExpertsClient(synth_triton.grpc_url) as client:
        exact = ToolContext(sample, client)
        exact_room = _call(tools, exact, "measure_room")["floor_area_m2"]
    noise = {"depth_error_per_m": "0.1", "depth_range_m": "0", "reconstruction_drift": "0.02", "reconstruction_baseline_m": "10", "merge_gap_px": "10000", "detection_min_area_px": "1000000"}
    with oracle_server(synth_root / "oracle", parameters=noise, log_file=tmp_path / "triton.log") as server, ExpertsClient(server.grpc_url) as client:
        noisy = ToolContext(sample, client)
        cameras = client.reconstruct(sample.frames, points=True)
        drift = cameras.meta["applied_reconstruction_scale"]
        baseline = max(float(np.linalg.norm(pose[:3, 3])) for pose in cameras.poses_c2w)
        assert abs(drift - 1) == pytest.approx(0.02 * (16 / len(sample.frames)) ** 0.5 * (10 - baseline), rel=1e-4)
        room = _call(tools, noisy, "measure_room", geometry="reconstruction")["floor_area_m2"]
        assert room == pytest.approx(exact_room * drift**2, rel=0.01)  # one consistent scale: areas by its square
        assert _call(tools, noisy, "measure_room", geometry="depth")["floor_area_m2"] > exact_room * 1.1  # far walls read too far
        assert _call(tools, noisy, "locate_objects", category=repeated, geometry="reconstruction")["count"] < counts[repeated]  # merged instances
        missed = tools.call(noisy, "locate_objects", {"category": repeated, "masks": "detection"}, "t")
        assert missed.ok and missed.content["count"] == 0  # nothing shows a million pixels
