"""The scene-level tools the VSI-Bench question types need, checked against spatial_synth's exact
ground truth through the seed skills' workflows (program policy, real Triton oracle experts)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from itertools import pairwise

import numpy as np
import pytest

from skill3d_eval.agent.program import ProgramPolicy
from skill3d_eval.experts import ExpertsClient
from skill3d_eval.records import Trajectory
from skill3d_eval.scoring import numeric_mra
from skill3d_eval.skills.rollouts import synth_samples
from skill3d_eval.synth.scene import closest_point_distance, scene_from_dict
from skill3d_eval.tools import ToolContext, default_toolset

pytestmark = pytest.mark.integration

PROMPT = "These are frames of a video of an indoor scene.\n{q}\n{post}"
NUMERIC = "Please answer the question using a single word or phrase."
CHOICE = "Answer with the option's letter from the given choices directly."
REPEATS_CHECKED = 4


@pytest.fixture(scope="module")
def scenes(synth_root):
    """One sample (frames) per training scene, with that scene's ground truth."""
    _, samples = synth_samples(synth_root, "train", {"object_counting"})
    first = {}
    for sample in samples.values():
        first.setdefault(sample.scene, sample)
    return [(sample, json.loads((synth_root / "scenes" / f"{scene}.json").read_text())) for scene, sample in sorted(first.items())]


def _ask(client, sample, task_type, question, options=(), post=NUMERIC):
    asked = replace(sample, question=PROMPT.format(q=question, post=post), task_type=task_type, options=list(options))
    trajectory = Trajectory(task=asked.task, doc_id=asked.doc_id, sample_id=asked.sample_id, question=asked.question, task_type=task_type, scene=asked.scene, policy="program")
    ProgramPolicy(default_toolset()).run(asked, ToolContext(asked, client), trajectory)
    assert trajectory.executed_skill == f"seed.{task_type}." + trajectory.executed_skill.split(".")[-1]
    return trajectory.answer


def _singles(truth):
    counts = Counter(o["category"] for o in truth["objects"])
    return [o for o in truth["objects"] if counts[o["category"]] == 1]


def test_room_size_and_object_size(scenes, synth_triton):
    with ExpertsClient(synth_triton.grpc_url) as client:
        for sample, truth in scenes[:4]:
            room = _ask(client, sample, "room_size_estimation", "What is the size of this room (in square meters)? If multiple rooms are shown, estimate the size of the combined space.")
            assert numeric_mra(room, truth["room"]["width"] * truth["room"]["depth"]) >= 0.95
            for obj in _singles(truth)[:2]:
                size = _ask(client, sample, "object_size_estimation", f"What is the length of the longest dimension (length, width, or height) of the {obj['category']}, measured in centimeters?")
                assert numeric_mra(size, max(obj["size"]) * 100) >= 0.9, obj


def test_absolute_distance_is_between_the_closest_points_and_the_centres_stay_reported(scenes, synth_triton):
    """The fused clouds' closest points against the exact box-to-box distance, pair by pair; the
    seed skill answers with the closest-point value."""
    scores = []
    with ExpertsClient(synth_triton.grpc_url) as client:
        for sample, truth in scenes[:6]:
            scene = scene_from_dict(truth)
            context = ToolContext(sample, client)
            singles = [scene.objects_of(o["category"])[0] for o in _singles(truth)]
            for a, b in pairwise(singles):
                observation = default_toolset().call(context, "measure_distance", {"object_a": a.category, "object_b": b.category}, "m")
                assert observation.ok, observation.error
                content = observation.content
                exact = closest_point_distance(a, b)
                assert exact - 1e-3 <= content["closest_point_distance_m"] < content["center_distance_m"]
                assert numeric_mra(str(content["center_distance_m"]), float(np.linalg.norm(np.subtract(a.center, b.center)))) >= 0.9
                assert len(content["center_a_m"]) == len(content["center_b_m"]) == 3 and "pairs" not in content
                scores.append(numeric_mra(str(content["closest_point_distance_m"]), exact))
                if b is singles[1]:
                    question = f"Measuring from the closest point of each object, what is the direct distance between the {a.category} and the {b.category} (in meters)?"
                    # The answer is the observation's value in its own digits.
                    assert _ask(client, sample, "object_abs_distance", question) == str(content["closest_point_distance_m"])
    assert len(scores) >= 10 and float(np.mean(scores)) >= 0.95 and min(scores) >= 0.8, scores


def test_a_category_with_several_instances_is_measured_at_its_closest_instance(scenes, synth_triton):
    """Counting scenes repeat categories: distance takes the closest pair, direction the most-seen
    instance. The clouds hold only what the images show, and instances of one category often
    hide their facing sides from each other, so single estimates may overshoot; none undercuts.
    Every training scene repeats a category; the first `REPEATS_CHECKED` of them hold two and three
    instances of one (each scene's clouds take seconds to build from 32 frames)."""
    estimates, checked = [], 0
    with ExpertsClient(synth_triton.grpc_url) as client:
        for sample, truth in scenes:
            if checked == REPEATS_CHECKED:
                break
            scene = scene_from_dict(truth)
            counts = Counter(o.category for o in scene.objects)
            repeated = [c for c, n in counts.items() if n > 1]
            singles = [c for c, n in counts.items() if n == 1]
            if not repeated or len(singles) < 2:
                continue
            many, one = repeated[0], scene.objects_of(singles[0])[0]
            instances = scene.objects_of(many)
            context = ToolContext(sample, client)
            observation = default_toolset().call(context, "measure_distance", {"object_a": many, "object_b": one.category}, "m")
            assert observation.ok, observation.error
            content = observation.content
            assert content["instances_found"] == {many: len(instances), one.category: 1}
            gaps = [pair["closest_point_distance_m"] for pair in content["pairs"]]
            assert len(gaps) == len(instances) and gaps == sorted(gaps) and gaps[0] == content["closest_point_distance_m"]
            estimates.append((content["closest_point_distance_m"], min(closest_point_distance(obj, one) for obj in instances)))

            between = default_toolset().call(context, "measure_distance", {"object_a": many, "object_b": many}, "s")
            assert between.ok, between.error
            assert len(between.content["pairs"]) == len(instances) * (len(instances) - 1) // 2
            exact = min(closest_point_distance(p, q) for i, p in enumerate(instances) for q in instances[i + 1 :])
            estimates.append((between.content["closest_point_distance_m"], exact))

            alone = default_toolset().call(context, "measure_distance", {"object_a": one.category, "object_b": one.category}, "o")
            assert not alone.ok and "only one" in alone.error

            direction = default_toolset().call(context, "relative_direction", {"position": singles[0], "facing": singles[1], "query": many}, "d")
            assert direction.ok, direction.error
            assert direction.content["instances_found"] == {singles[0]: 1, singles[1]: 1, many: len(instances)}
            checked += 1
    assert checked >= 2
    assert all(estimate >= exact - 1e-3 for estimate, exact in estimates), estimates
    assert float(np.mean([numeric_mra(str(estimate), exact) for estimate, exact in estimates])) >= 0.9, estimates


def test_relative_distance_picks_the_nearest_option(scenes, synth_triton):
    asked = 0
    with ExpertsClient(synth_triton.grpc_url) as client:
        for sample, truth in scenes:
            singles = _singles(truth)
            if len(singles) < 3:
                continue
            reference, candidates = singles[0], singles[1:4]
            scene = scene_from_dict(truth)
            gaps = [closest_point_distance(*(scene.objects_of(o["category"])[0] for o in (reference, c))) for c in candidates]
            ordered = sorted(gaps)
            if ordered[1] - ordered[0] < 0.25:  # only unambiguous cases: the nearest by the generator's margin
                continue
            options = [f"{chr(65 + i)}. {c['category']}" for i, c in enumerate(candidates)]
            names = ", ".join(c["category"] for c in candidates)
            answer = _ask(client, sample, "object_rel_distance", f"Measuring from the closest point of each object, which of these objects ({names}) is the closest to the {reference['category']}?", options, CHOICE)
            assert answer == chr(65 + int(np.argmin(gaps)))
            asked += 1
    assert asked >= 1


def test_first_appearance_orders_options_by_the_first_image_showing_them(scenes, synth_triton):
    sample, truth = next((s, t) for s, t in scenes if len(_singles(t)) >= 3)
    names = [o["category"] for o in _singles(truth)[:3]]
    with ExpertsClient(synth_triton.grpc_url) as client:
        context = ToolContext(sample, client)
        first = {n: min(i for i in range(len(sample.frames)) if len(context.segment(i, n))) for n in names}
        observation = default_toolset().call(context, "first_appearance", {"categories": names}, "c0")
        assert observation.ok and observation.content["first_image"] == first
        truth_order = sorted(names, key=lambda n: first[n])
        options = [f"A. {', '.join(reversed(truth_order))}", f"B. {', '.join(truth_order)}"]
        if len(set(first.values())) == len(names):
            assert _ask(client, sample, "obj_appearance_order", f"What will be the first-time appearance order of the following categories in the video: {', '.join(names)}?", options, CHOICE) == "B"
        missing = default_toolset().call(context, "first_appearance", {"categories": ["unicorn"]}, "c1")
        assert not missing.ok and "unicorn" in missing.error


def _angle(origin, towards, point):
    forward = np.subtract(towards, origin)[:2]
    vector = np.subtract(point, origin)[:2]
    return float(np.degrees(np.arctan2(forward[0] * vector[1] - forward[1] * vector[0], forward @ vector)))


def test_relative_direction_and_route_turns_match_the_ground_truth_geometry(scenes, synth_triton):
    """Angles from the fused 3D centres agree with the exact scene; labels where the angle is clear."""
    checked = 0
    with ExpertsClient(synth_triton.grpc_url) as client:
        for sample, truth in scenes[:6]:
            singles = _singles(truth)
            if len(singles) < 4:
                continue
            p, f, q, g = singles[:4]
            expected = _angle(p["center"], f["center"], q["center"])
            observation = default_toolset().call(ToolContext(sample, client), "relative_direction", {"position": p["category"], "facing": f["category"], "query": q["category"]}, "d")
            assert observation.ok, observation.error
            assert abs((observation.content["angle_deg"] - expected + 180) % 360 - 180) < 10
            if 15 < abs(expected) < 165:
                side = "left" if expected > 0 else "right"
                question = f"If I am standing by the {p['category']} and facing the {f['category']}, is the {q['category']} to the left or the right of the {f['category']}?"
                assert _ask(client, sample, "object_rel_direction_easy", question, ["A. left", "B. right"], CHOICE) == ("A" if side == "left" else "B")
            first = _angle(p["center"], f["center"], q["center"])
            second = _angle(q["center"], 2 * np.asarray(q["center"]) - np.asarray(p["center"]), g["center"])
            route = default_toolset().call(ToolContext(sample, client), "plan_route", {"start": p["category"], "facing": f["category"], "waypoint": q["category"], "goal": g["category"]}, "r")
            assert route.ok and abs((route.content["second_turn_deg"] - second + 180) % 360 - 180) < 10
            assert abs((route.content["first_turn_deg"] - first + 180) % 360 - 180) < 10
            checked += 1
    assert checked >= 1
