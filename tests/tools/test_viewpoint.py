"""The camera-relative tools against spatial_synth's exact ground truth, on the frames of the
CV-Bench-3D, BLINK and MMSI-style subsets (real Triton oracle experts), and their argument checks."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from skill3d_eval.experts import ExpertsClient
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
