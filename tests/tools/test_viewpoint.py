"""The camera-relative tools against spatial_synth's exact ground truth, on the frames of the
CV-Bench-3D, BLINK and MMSI-style subsets (real Triton oracle experts), and their argument checks."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from skill3d_eval.experts import ExpertsClient, oracle_server
from skill3d_eval.experts.protocol import NoExperts
from skill3d_eval.records import Sample
from skill3d_eval.skills.rollouts import split_file, synth_samples
from skill3d_eval.synth import directions
from skill3d_eval.synth.view_questions import CAM_CAM, CAM_OBJ, PATTERNS
from skill3d_eval.synth.scene import scene_from_dict
from skill3d_eval.tools import ToolContext, default_toolset

TOOLS = default_toolset()


def _rows(synth_root, task):
    """(sample, its row, the scene's truth) of every row of both splits."""
    for split in ("train", "test"):
        rows = pq.read_table(split_file(synth_root, split, task), columns=["scene_name", "frame_indices", "question"]).to_pylist()
        _, samples = synth_samples(synth_root, split, task=task)
        for index, sample in samples.items():
            row = rows[index]
            yield sample, row, scene_from_dict(json.loads((synth_root / "scenes" / f"{row['scene_name']}.json").read_text()))


def _camera(scene, frame):
    pose = scene.cameras[frame].pose_c2w
    return pose[:3, :3], pose[:3, 3]


def _call(context, name, arguments):
    observation = TOOLS.call(context, name, arguments, "t")
    assert observation.ok, observation.error
    return observation.content


@pytest.mark.integration
def test_object_depths_orders_objects_as_their_centres_depths(synth_root, synth_triton):
    """The depth of an object's centre in the camera's frame, from one picture of its near side:
    off by the faces the picture does not show, yet never enough to swap the objects of a
    depth-order question (they are 0.4 m apart)."""
    errors = []
    with ExpertsClient(synth_triton.grpc_url) as client:
        for sample, row, scene in _rows(synth_root, "spatial_synth_cv3d"):
            rotation, eye = _camera(scene, row["frame_indices"][0])
            content = _call(ToolContext(sample, client), "object_depths", {"image": 0, "categories": sample.options})
            truths = []
            for name in sample.options:
                (obj,) = scene.objects_of(name)
                truths.append(float((rotation.T @ (np.asarray(obj.center) - eye))[2]))
                assert content["nearest_depth_m"][name] <= content["center_depth_m"][name]
                assert content["instances_found"][name] == 1
                errors.append(abs(content["center_depth_m"][name] - truths[-1]))
            if sample.task_type == "Depth":
                measured = [content["center_depth_m"][name] for name in sample.options]
                assert int(np.argmin(measured)) == int(np.argmin(truths)), (sample.sample_id, content, truths)
    assert len(errors) >= 40 and float(np.median(errors)) <= 0.1 and max(errors) <= 0.45, sorted(errors)[-5:]


@pytest.mark.integration
def test_reconstruction_geometry_keeps_the_order_that_per_object_depth_errors_break(synth_root, tmp_path):
    """Depth that misjudges every object by its own factor (`depth_object_error_per_m`, every view beyond
    the range) swaps some CV-Bench answers; the reconstruction's point map of the same picture is
    off by one scale for the whole view, so its depths and distances keep every answer."""
    misjudging = {"depth_object_error_per_m": "0.3", "depth_range_m": "0"}
    swapped = answered = 0
    with oracle_server(synth_root / "oracle", models=["depth", "reconstruction", "segmentation"], log_file=tmp_path / "triton.log", parameters=misjudging) as server, ExpertsClient(server.grpc_url) as client:
        for sample, row, scene in _rows(synth_root, "spatial_synth_cv3d"):
            rotation, eye = _camera(scene, row["frame_indices"][0])
            context = ToolContext(sample, client)
            if sample.task_type == "Depth":
                truths = [float((rotation.T @ (np.asarray(scene.objects_of(name)[0].center) - eye))[2]) for name in sample.options]
                by_depth, rebuilt = (_call(context, "object_depths", {"image": 0, "categories": sample.options, "geometry": geometry})["center_depth_m"] for geometry in ("depth", "reconstruction"))
            else:
                reference = PATTERNS["Distance"].fullmatch(row["question"])["target"]
                anchor = np.asarray(scene.objects_of(reference)[0].center)
                truths = [float(np.linalg.norm(np.asarray(scene.objects_of(name)[0].center) - anchor)) for name in sample.options]
                by_depth, rebuilt = (_call(context, "compare_distances", {"reference": reference, "candidates": sample.options, "geometry": geometry})["center_distance_m"] for geometry in ("depth", "reconstruction"))
            truth = int(np.argmin(truths))
            assert int(np.argmin([rebuilt[name] for name in sample.options])) == truth, (sample.sample_id, rebuilt, truths)
            swapped += int(np.argmin([by_depth[name] for name in sample.options])) != truth
            answered += 1
    assert answered >= 20 and swapped >= 2, (answered, swapped)


@pytest.mark.integration
def test_camera_motion_is_the_second_camera_in_the_first_cameras_frame(synth_root, synth_triton):
    with ExpertsClient(synth_triton.grpc_url) as client:
        for sample, row, scene in _rows(synth_root, "spatial_synth_blink"):
            first, second = row["frame_indices"]
            rotation, eye = _camera(scene, first)
            right, down, forward = rotation.T @ (_camera(scene, second)[1] - eye)
            content = _call(ToolContext(sample, client), "camera_motion", {"from_image": 0, "to_image": 1})
            assert content["right_m"] == pytest.approx(right, abs=2e-3) and content["forward_m"] == pytest.approx(forward, abs=2e-3)
            assert content["up_m"] == pytest.approx(-down, abs=2e-3)
            assert content["direction"] == ("left" if right < 0 else "right")


@pytest.mark.integration
def test_relative_quadrant_matches_the_exact_floor_plane_angle(synth_root, synth_triton):
    """Cameras are exact; objects are the centres of what the two images show of them, so their
    angles are off by a few degrees, less than the 15 degrees questions keep from every quadrant
    boundary."""
    errors = {kind: [] for kind in PATTERNS if kind.startswith("Positional")}
    with ExpertsClient(synth_triton.grpc_url) as client:
        for sample, row, scene in _rows(synth_root, "spatial_synth_mmsi"):
            kind, (first, second) = sample.task_type, row["frame_indices"]
            names = PATTERNS[kind].fullmatch(row["question"]).groupdict()
            if kind == CAM_CAM:
                reference, origin, point = first, _camera(scene, first)[1], _camera(scene, second)[1]
                arguments = {"reference_image": 0, "target_image": 1}
            elif kind == CAM_OBJ:
                reference, origin, point = second, _camera(scene, second)[1], np.asarray(scene.objects_of(names["a"])[0].center)
                arguments = {"reference_image": 1, "target_object": names["a"]}
            else:
                reference = first
                origin, point = (np.asarray(scene.objects_of(names[key])[0].center) for key in ("a", "b"))
                arguments = {"reference_image": 0, "standing_at": names["a"], "target_object": names["b"]}
            facing = _camera(scene, reference)[0][:, 2]
            truth = directions.signed_angle(origin, origin + facing, point)
            content = _call(ToolContext(sample, client), "relative_quadrant", arguments)
            errors[kind].append(abs((content["angle_deg"] - truth + 180) % 360 - 180))
            assert content["quadrant"] == directions.quadrant(truth), (sample.sample_id, content, truth)
    assert all(len(values) >= 6 for values in errors.values())
    assert max(errors[CAM_CAM]) <= 0.1
    assert all(float(np.median(values)) <= 5 and max(values) < directions.MARGIN for values in errors.values()), errors


def _blank_sample(images: int) -> Sample:
    frames = [np.zeros((8, 8, 3), dtype=np.uint8) for _ in range(images)]
    return Sample(task="t", doc_id=0, sample_id="t/test/0", question="q", frames=frames)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"reference_image": 0}, "exactly one target"),
        ({"reference_image": 0, "target_image": 1, "target_object": "chair"}, "exactly one target"),
        ({"reference_image": 0, "target_image": 2}, "out of range"),
    ],
)
def test_relative_quadrant_needs_one_target_among_the_question_images(arguments, message):
    """Checked before any expert is asked."""
    observation = TOOLS.call(ToolContext(_blank_sample(2), NoExperts()), "relative_quadrant", arguments, "q")
    assert not observation.ok and observation.failure == "tool_error" and message in observation.error


def test_camera_motion_refuses_an_image_the_question_does_not_have():
    observation = TOOLS.call(ToolContext(_blank_sample(1), NoExperts()), "camera_motion", {}, "m")
    assert not observation.ok and "out of range" in observation.error


@pytest.mark.integration
def test_depth_checked_poses_undo_a_reversed_two_view_reconstruction(synth_root, tmp_path):
    """A reconstruction that reverses every two-view translation (`two_view_flip_rate` 1 at any
    baseline) sends every BLINK camera the wrong way; checked against the two images' depth, each
    motion is the true one again, and MMSI's quadrants are right or refused."""
    flipping = {"two_view_flip_rate": "1", "reconstruction_baseline_m": "1000"}
    answered = 0
    with oracle_server(synth_root / "oracle", models=["depth", "reconstruction", "segmentation"], log_file=tmp_path / "triton.log", parameters=flipping) as server, ExpertsClient(server.grpc_url) as client:
        for sample, row, scene in _rows(synth_root, "spatial_synth_blink"):
            first, second = row["frame_indices"]
            rotation, eye = _camera(scene, first)
            right, _, forward = rotation.T @ (_camera(scene, second)[1] - eye)
            context = ToolContext(sample, client)
            reversed_ = _call(context, "camera_motion", {"from_image": 0, "to_image": 1})
            checked = _call(context, "camera_motion", {"from_image": 0, "to_image": 1, "poses": "depth_checked"})
            assert reversed_["right_m"] == pytest.approx(-right, abs=2e-3)
            assert checked["right_m"] == pytest.approx(right, abs=2e-3) and checked["forward_m"] == pytest.approx(forward, abs=2e-3)
            assert checked["poses"] == "depth_checked"
            answered += 1
        assert answered >= 10
        outcomes = {CAM_CAM: [], CAM_OBJ: []}
        for sample, row, scene in _rows(synth_root, "spatial_synth_mmsi"):
            kind, (first, second) = sample.task_type, row["frame_indices"]
            if kind not in outcomes:
                continue
            if kind == CAM_CAM:
                reference, origin, point = first, _camera(scene, first)[1], _camera(scene, second)[1]
                arguments = {"reference_image": 0, "target_image": 1}
            else:
                name = PATTERNS[kind].fullmatch(row["question"])["a"]
                reference, origin, point = second, _camera(scene, second)[1], np.asarray(scene.objects_of(name)[0].center)
                arguments = {"reference_image": 1, "target_object": name}
            truth = directions.quadrant(directions.signed_angle(origin, origin + _camera(scene, reference)[0][:, 2], point))
            context = ToolContext(sample, client)
            plain = _call(context, "relative_quadrant", arguments)["quadrant"]
            checked = TOOLS.call(context, "relative_quadrant", arguments | {"poses": "depth_checked"}, "t")
            outcomes[kind].append((plain == truth, checked.content["quadrant"] == truth if checked.ok else None))
            assert checked.ok or "overlap too little" in checked.error, checked.error
    # Reversed, every camera-camera answer is wrong; checked, each is right or refused (views that share nothing), never wrong.
    assert not any(plain for plain, _ in outcomes[CAM_CAM])
    for kind, pairs in outcomes.items():
        verdicts = [checked for _, checked in pairs]
        assert False not in verdicts and verdicts.count(True) >= 2 * len(verdicts) / 3, (kind, verdicts)


class _PlaneExperts:
    """Two views of a wall 2 m ahead of image 0; image 1 sees it from `behind_m` further back."""

    K = np.array([[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]], dtype=np.float32)

    def __init__(self, translation_z: float, behind_m: float):
        self.translation_z, self.behind_m, self.depth_calls = translation_z, behind_m, 0

    def depth(self, image):
        from skill3d_eval.experts import DepthResult

        self.depth_calls += 1
        depth = 2.0 + (self.behind_m if image[0, 0, 0] else 0.0)
        return DepthResult(depth=np.full(image.shape[:2], depth, np.float32), intrinsics=self.K)

    def reconstruct(self, images, *, points=False):
        from skill3d_eval.experts import ReconstructionResult

        poses = np.stack([np.eye(4, dtype=np.float32)] * len(images))
        poses[1, 2, 3] = self.translation_z
        return ReconstructionResult(poses_c2w=poses, intrinsics=np.stack([self.K] * len(images)))


def _pair() -> Sample:
    frames = [np.zeros((48, 64, 3), dtype=np.uint8), np.ones((48, 64, 3), dtype=np.uint8)]
    return Sample(task="t", doc_id=0, sample_id="t/test/0", question="q", frames=frames)


def test_depth_agreement_tells_a_camera_behind_from_one_ahead():
    from skill3d_eval.tools.pose_check import depth_agreement

    K, wall, farther = _PlaneExperts.K, np.full((48, 64), 2.0, np.float32), np.full((48, 64), 2.5, np.float32)
    behind, ahead = np.eye(4), np.eye(4)
    behind[2, 3], ahead[2, 3] = -0.5, 0.5
    assert depth_agreement(wall, K, wall, K, np.eye(4)) == 1.0
    assert depth_agreement(wall, K, farther, K, behind) > 0.5  # the camera 0.5 m back sees the wall 2.5 m away
    assert depth_agreement(wall, K, farther, K, ahead) == 0.0


@pytest.mark.parametrize("reconstructed_z", [-0.5, 0.5])
def test_depth_checked_poses_keep_or_reverse_the_reconstructions_translation(reconstructed_z):
    """The reconstruction puts image 1's camera 0.5 m behind image 0's (right) or ahead (reversed)."""
    experts = _PlaneExperts(reconstructed_z, behind_m=0.5)
    content = _call(ToolContext(_pair(), experts), "camera_motion", {"poses": "depth_checked"})
    assert content["forward_m"] == -0.5  # image 1's camera is behind image 0's either way
    assert experts.depth_calls == 2  # one depth map per image


def test_depth_checked_poses_refuse_views_whose_depths_agree_neither_way():
    """Image 1 sees the wall 3 m further than any placement of it allows: no answer, and the error says why."""
    observation = TOOLS.call(ToolContext(_pair(), _PlaneExperts(-0.5, 3.0)), "camera_motion", {"poses": "depth_checked"}, "m")
    assert not observation.ok and observation.failure == "tool_error"
    assert "cannot check the pose of image 1" in observation.error and "overlap too little" in observation.error


def test_cameras_from_elsewhere_replace_the_reconstructions_only_inside_posed_by():
    """Geometry built on checked poses must not mix in the reconstruction's own point maps."""
    from skill3d_eval.tools.errors import ToolError
    from skill3d_eval.tools.pose_check import depth_checked_cameras

    context = ToolContext(_pair(), _PlaneExperts(0.5, behind_m=0.5))
    checked = depth_checked_cameras(context)
    assert checked.meta["pose_check"] == {"reversed": [1], "agreement": {1: pytest.approx(0.64, abs=0.1)}}
    with context.posed_by(checked):
        assert context.cameras() is checked
        with pytest.raises(ToolError, match="point maps"):
            context.point_maps()
    assert context.cameras().poses_c2w[1, 2, 3] == 0.5  # the reconstruction's, as it answered
