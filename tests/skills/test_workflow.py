"""Workflows are data: slots come from the question, finals are named operations, bad data is refused."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from skill3d_eval.skills.model import FinalComputation, Skill, Step, Workflow
from skill3d_eval.skills.seeds import load_seed_skills
from skill3d_eval.skills.workflow import (
    WorkflowError,
    compute_final,
    fill_slots,
    render_arguments,
)

WRAPPED = "These are frames of a video of an indoor scene.\n{q}\nPlease answer the question using a single word or phrase."
DISTANCE = Workflow(
    question_pattern="direct distance between the {object_a} and the {object_b} (in meters)?",
    steps=[Step(tool="measure_distance", arguments={"object_a": "{object_a}", "object_b": "{object_b}"})],
    final=FinalComputation(op="value", path="closest_point_distance_m"),
)


def test_slots_are_read_from_a_wrapped_question_case_insensitively():
    question = WRAPPED.format(q="Measuring from the closest point of each object, what is the direct distance between the trash can and the Sofa  (in meters)?")
    slots = fill_slots(DISTANCE, question, [])
    assert slots["object_a"] == "trash can" and slots["object_b"] == "Sofa"
    assert render_arguments(DISTANCE.steps[0], slots) == {"object_a": "trash can", "object_b": "Sofa"}


def test_a_question_of_another_template_is_a_workflow_error():
    with pytest.raises(WorkflowError, match="does not match"):
        fill_slots(DISTANCE, "How many chair(s) are in this room?", [])


def test_option_slots_and_list_arguments():
    workflow = Workflow(
        question_pattern="appearance order of the following categories in the video: {categories}?",
        steps=[Step(tool="first_appearance", arguments={"categories": "{option_items}"}), Step(tool="compare_distances", arguments={"reference": "{categories}", "candidates": ["{categories}", "sofa"]})],
        final=FinalComputation(op="choose_order", path="first_image"),
    )
    options = ["A. sofa, chair", "B. chair, sofa"]
    slots = fill_slots(workflow, "What is the first-time appearance order of the following categories in the video: sofa, chair?", options)
    assert slots["options"] == ["sofa, chair", "chair, sofa"] and slots["option_items"] == ["sofa", "chair"]
    assert render_arguments(workflow.steps[0], slots) == {"categories": ["sofa", "chair"]}
    assert render_arguments(workflow.steps[1], slots)["candidates"] == ["sofa, chair", "sofa"]
    assert compute_final(workflow.final, [{"first_image": {"sofa": 3, "chair": 1}}], options) == "B"


@pytest.mark.parametrize(
    ("final", "observations", "options", "expected"),
    [
        (FinalComputation(op="value", path="count"), [{"count": 3}], [], "3"),
        # read as it stands: the observation's own digits, which a trained agent copies
        (FinalComputation(op="value", path="closest_point_distance_m"), [{"closest_point_distance_m": 5.454}], [], "5.454"),
        (FinalComputation(op="value", path="size_m", scale=100), [{"size_m": 0.45678}], [], "45.68"),
        (FinalComputation(op="count", path="instances"), [{"instances": [{}, {}]}], [], "2"),
        (FinalComputation(op="max", path="instances.0.size_m", scale=100), [{"instances": [{"size_m": [0.5, 1.234, 0.2]}]}], [], "123.4"),
        (FinalComputation(op="distance", path="c", step_b=1, path_b="c"), [{"c": [0, 0, 0]}, {"c": [3, 4, 0]}], [], "5"),
        (FinalComputation(op="choose_min", path="d"), [{"d": {"sofa": 2.0, "lamp": 1.0}}], ["A. sofa", "B. lamp"], "B"),
        (FinalComputation(op="choose_max", path="d"), [{"d": {"sofa": 2.0, "lamp": 1.0}}], ["A. sofa", "B. lamp"], "A"),
        (FinalComputation(op="choose_match", path="turns"), [{"turns": "Turn Left, Turn Back"}], ["A. Turn Right, Turn Back", "B. turn left,  Turn Back"], "B"),
    ],
)
def test_named_final_computations(final, observations, options, expected):
    assert compute_final(final, observations, options) == expected


def test_final_reading_a_missing_field_names_the_path():
    with pytest.raises(WorkflowError, match="closest_point_distance_m"):
        compute_final(DISTANCE.final, [{"count": 1}], [])
    with pytest.raises(WorkflowError, match="not a number"):
        compute_final(FinalComputation(op="value", path="x"), [{"x": "1; import os"}], [])


def test_invalid_workflows_are_refused_at_load():
    with pytest.raises(ValidationError, match="object_b"):
        Workflow(question_pattern="between the {object_a}?", steps=[Step(tool="t", arguments={"a": "{object_b}"})], final=FinalComputation(op="value", path="x"))
    with pytest.raises(ValidationError, match="step 2"):
        Workflow(question_pattern="q?", steps=[Step(tool="t")], final=FinalComputation(op="value", step=2, path="x"))
    with pytest.raises(ValidationError, match="step_b"):
        FinalComputation(op="distance", path="x")
    with pytest.raises(ValidationError, match="op"):
        FinalComputation.model_validate({"op": "eval", "path": "__import__('os')"})


def test_seed_skills_cover_every_computable_type_of_the_four_benchmark_families(tmp_path):
    skills = load_seed_skills()
    types = {family: {t for s in skills if s.family == family for t in s.task_types} for family in ("vsi_bench", "cvbench", "blink", "mmsi")}
    assert types == {
        "vsi_bench": {
            "object_counting", "object_abs_distance", "object_size_estimation", "room_size_estimation", "object_rel_distance", "obj_appearance_order",
            "object_rel_direction_easy", "object_rel_direction_medium", "object_rel_direction_hard", "route_planning",
        },
        "cvbench": {"Depth", "Distance"},
        "blink": {"Multi-view_Reasoning"},
        "mmsi": {"Positional Relationship (Cam.-Cam.)", "Positional Relationship (Cam.-Obj.)", "Positional Relationship (Obj.-Obj.)"},
    }
    assert all(s.family for s in skills)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**skills[0].model_dump(mode="json"), "workflow": {"question_pattern": "q", "steps": [], "final": {"op": "value"}}}))
    from skill3d_eval.skills.seeds import SeedError

    with pytest.raises(SeedError, match="bad.json"):
        load_seed_skills(tmp_path)


def test_vsi_templates_fill_the_seed_slots():
    by_type = {s.task_types[0]: s for s in load_seed_skills()}
    cases = {
        "object_size_estimation": ("What is the length of the longest dimension (length, width, or height) of the sofa, measured in centimeters?", [], {"category": "sofa"}),
        "room_size_estimation": ("What is the size of this room (in square meters)? If multiple rooms are shown, estimate the size of the combined space.", [], {}),
        "object_rel_distance": ("Measuring from the closest point of each object, which of these objects (sofa, lamp, bed) is the closest to the tv?", ["A. sofa", "B. lamp", "C. bed"], {"reference": "tv"}),
    }
    cases["object_rel_direction_easy"] = ("If I am standing by the sofa and facing the tv, is the lamp to the left or the right of the tv?", [], {"position": "sofa", "facing": "tv", "query": "lamp"})
    cases["route_planning"] = (
        ("You are a robot beginning at the bed facing the tv. You want to navigate to the sink. You will perform the following actions "
        "(Note: for each [please fill in], choose either 'turn back,' 'turn left,' or 'turn right.'): 1. [please fill in] 2. Go forward "
        "until the trash can 3. [please fill in] 4. Go forward until the sink. You have reached the final destination."),
        [], {"start": "bed", "facing": "tv", "waypoint": "trash can", "goal": "sink"},
    )
    for task_type, (question, options, expected) in cases.items():
        slots = fill_slots(by_type[task_type].workflow, WRAPPED.format(q=question), options)
        assert {k: v for k, v in slots.items() if k in expected} == expected, task_type
    assert Skill.model_validate(by_type["object_counting"].model_dump()) == by_type["object_counting"]


def test_frame_question_templates_fill_the_seed_slots():
    """The subsets' prompts as spatial_synth's generator and the tasks write them (CV-Bench's and
    BLINK's note first, MMSI's options inline)."""
    from skill3d_eval.synth.view_questions import BLINK_PROMPT, CAM_CAM, CAM_OBJ, CV_SUFFIX, DEPTH, DISTANCE, MMSI_OPTIONS, MMSI_TEMPLATES, OBJ_OBJ

    by_type = {s.task_types[0]: s for s in load_seed_skills()}
    note = "Note: You only need to respond with A, B without providing any additional information.\n"
    post = "\nAnswer with the option's letter from the given choices directly."
    cases = {
        "Depth": (note + DEPTH.format(a="trash can", b="bookshelf") + CV_SUFFIX + "(A) trash can\n(B) bookshelf",
                  ["trash can", "bookshelf"], {"categories": ["trash can", "bookshelf"], "image": 0}),
        "Distance": (note + DISTANCE.format(target="bed", a="chair", b="table") + CV_SUFFIX + "(A) chair\n(B) table",
                     ["chair", "table"], {"reference": "bed", "candidates": ["chair", "table"]}),
        "Multi-view_Reasoning": (note + BLINK_PROMPT, ["left", "right"], {"from_image": 0, "to_image": 1}),
        CAM_CAM: (MMSI_TEMPLATES[CAM_CAM] + MMSI_OPTIONS + post, [], {"reference_image": 0, "target_image": 1}),
        CAM_OBJ: (MMSI_TEMPLATES[CAM_OBJ].format(a="trash can") + MMSI_OPTIONS + post, [], {"reference_image": 1, "target_object": "trash can"}),
        OBJ_OBJ: (MMSI_TEMPLATES[OBJ_OBJ].format(a="table", b="sofa") + MMSI_OPTIONS + post, [], {"reference_image": 0, "standing_at": "table", "target_object": "sofa"}),
    }
    for task_type, (question, options, expected) in cases.items():
        workflow = by_type[task_type].workflow
        assert render_arguments(workflow.steps[0], fill_slots(workflow, question, options)) == expected, task_type
    with pytest.raises(WorkflowError, match="does not match"):
        fill_slots(by_type[CAM_OBJ].workflow, cases[OBJ_OBJ][0], [])


def test_every_shipped_workflow_calls_a_tool_with_arguments_it_accepts():
    """Seeds, exploration chains and variants are data: a fixed argument the tool does not take
    (a misspelt `poses`, a source it does not offer) would fail only when a rollout runs it."""
    from pydantic import TypeAdapter

    from skill3d_eval.skills.seeds import EXPLORE_DIR, VARIANTS_DIR
    from skill3d_eval.tools import default_toolset

    tools = default_toolset(views=True).tools
    skills = load_seed_skills() + load_seed_skills(EXPLORE_DIR) + load_seed_skills(VARIANTS_DIR)
    for skill in skills:
        for step in skill.workflow.steps:
            fields = tools[step.tool].arguments.model_fields
            for key, value in step.arguments.items():
                assert key in fields, f"{skill.id}: {step.tool} takes no argument {key!r}"
                if not (isinstance(value, str) and "{" in value):
                    TypeAdapter(fields[key].annotation).validate_python(value)
    assert {s.workflow.steps[0].arguments.get("poses") for s in skills if s.family in ("blink", "mmsi")} == {None, "depth_checked"}
