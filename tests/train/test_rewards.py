"""Reward functions on hand-written completions, and their agreement with the task scorers."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from skill3d_eval.agent.answer import normalize_answer
from skill3d_eval.scoring import answer_kind, score_question
from tests.support.spatial_synth import task_score
from train.rewards import answer_reward, episode_of, format_reward, tool_use_reward


def assistant(text=None, calls=()):
    message = {"role": "assistant", "content": text or ""}
    if calls:
        message["tool_calls"] = [{"type": "function", "function": {"name": name, "arguments": args}} for name, args in calls]
    return message


def tool(payload):
    return {"role": "tool", "name": "t", "content": json.dumps(payload)}


COUNT_OBS = {"category": "chair", "count": 3, "instances": [{"center_m": [0.1, 1.2, 0.4]}]}
DISTANCE_OBS = {"object_a": "table", "object_b": "sofa", "center_distance_m": 2.41}

REPLIES = ["3", "3.", "three", "There are 3 chairs.", "about 2.4 meters", "2.41", "2.6", "0", "-1", "", "I cannot tell", "twenty-one", "B", "B. 1.2 m", "(B)", "1e3", "2,5"]


def test_answer_reward_agrees_with_the_spatial_synth_task_scorer(synth_root, task_utils):
    """One doc per question type, many replies: the reward equals what lmms-eval's process_results scores for the agent's answer."""
    docs = pd.read_parquet(synth_root / "data" / "train.parquet", columns=["id", "question_type", "question", "ground_truth", "options"]).to_dict("records")
    by_type = {doc["question_type"]: {**doc, "options": [str(o) for o in doc["options"]]} for doc in reversed(docs)}
    assert {"object_counting", "object_abs_distance"} <= set(by_type)
    for doc in by_type.values():
        truth = doc["ground_truth"]
        near = f"{float(truth) * 1.07:.2f}" if not doc["options"] else "the " + doc["options"][0]
        for reply in [*REPLIES, truth, near]:
            returned = normalize_answer(reply, answer_kind(doc), doc["options"])
            (reward,) = answer_reward([[assistant(reply)]], ground_truth=[truth], options=[doc["options"]], question_type=[doc["question_type"]])
            assert reward == task_score(task_utils, doc, returned), (doc["question_type"], reply)
        (perfect,) = answer_reward([truth], ground_truth=[truth], options=[doc["options"]], question_type=[doc["question_type"]])
        assert perfect == 1.0


@pytest.mark.parametrize("question_type", ["object_rel_distance", "route_planning", "object_rel_direction_hard"])
def test_answer_reward_agrees_with_the_multiple_choice_scorer(question_type):
    options = ["A. sofa", "B. table", "C. lamp", "D. bed"]
    for reply in ["B", "b", "B.", "(B)", "The answer is B", "table", "A", "E", "", "B table"]:
        returned = normalize_answer(reply, "choice", options)
        (reward,) = answer_reward([reply], ground_truth=["B"], options=[options])
        assert reward == score_question(question_type, returned, "B"), reply


def test_answer_reward_scores_the_final_turn_of_a_conversation():
    completions = [
        [assistant(calls=[("locate_objects", {"category": "chair"})]), tool(COUNT_OBS), assistant("3")],
        [assistant(calls=[("locate_objects", {"category": "chair"})]), tool(COUNT_OBS)],
        '<tool_call>{"name": "locate_objects", "arguments": {"category": "chair"}}</tool_call>',
        "4",
    ]
    assert answer_reward(completions, ground_truth=["3"] * 4) == [1.0, 0.0, 0.0, pytest.approx(0.4)], "|4-3|/3 passes 4 of the 10 MRA thresholds"


def test_format_reward_wants_valid_calls_and_a_bare_answer():
    good_call = ("measure_distance", {"object_a": "table", "object_b": "sofa"})
    completions = [
        [assistant(calls=[good_call]), tool(DISTANCE_OBS), assistant("2.41")],
        [assistant(calls=[good_call]), tool(DISTANCE_OBS), assistant("It is 2.41 m")],
        [assistant(calls=[("measure_distance", {"object_a": "table"})]), tool({"error": "x"}), assistant("2.41")],
        [assistant(calls=[("teleport", {})]), tool({"error": "x"}), assistant("no idea")],
        '<tool_call>{"name": "measure_distance", "arguments": {"object_a": "table", "object_b": "sofa"}}</tool_call>',
        "<tool_call>{not json}</tool_call>",
        "2.41",
    ]
    assert format_reward(completions) == [1.0, 0.75, 0.5, 0.0, 0.5, 0.0, 1.0]
    assert format_reward(["B", "B because", "the sofa"], options=[["A. x", "B. y"]] * 3) == [1.0, 0.75, 0.5]


def test_tool_use_reward_wants_used_evidence_without_invalid_or_repeated_calls():
    call = ("locate_objects", {"category": "chair"})
    completions = [
        [assistant(calls=[call]), tool(COUNT_OBS), assistant("3")],
        [assistant(calls=[call]), tool(COUNT_OBS), assistant("5")],
        [assistant(calls=[call]), tool(COUNT_OBS), assistant(calls=[call]), tool(COUNT_OBS), assistant("3")],
        [assistant(calls=[("locate_objects", {"category": ""})]), tool({"error": "too short"}), assistant(calls=[call]), tool(COUNT_OBS), assistant("3")],
        [assistant(calls=[call]), tool({"error": "expert unavailable"}), assistant("3")],
        "3",
    ]
    assert tool_use_reward(completions) == [1.0, 0.5, 0.75, 0.75, 0.0, 0.0]
    distance = [[assistant(calls=[("measure_distance", {"object_a": "table", "object_b": "sofa"})]), tool(DISTANCE_OBS), assistant("2.4")]]
    assert tool_use_reward(distance) == [1.0], "2.4 is within 5% of the observed 2.41"
    choice = [[assistant(calls=[call]), tool(COUNT_OBS), assistant("A")]]
    assert tool_use_reward(choice, options=[["A. x", "B. y"]]) == [1.0]


def test_episode_reads_tag_form_calls_and_their_results():
    completion = [
        {"role": "assistant", "content": 'Let me look. <tool_call>{"name": "locate_objects", "arguments": {"category": "chair"}}</tool_call>'},
        tool(COUNT_OBS),
        {"role": "assistant", "content": [{"type": "text", "text": "3"}]},
    ]
    episode = episode_of(completion)
    assert [(c.name, c.arguments) for c in episode.calls] == [("locate_objects", {"category": "chair"})]
    assert json.loads(episode.calls[0].result) == COUNT_OBS and episode.final == "3"


def test_the_question_type_decides_the_answer_form_when_given():
    """A VSI-Bench choice type is scored as a letter even if a row lost its options, a numeric type as a number."""
    assert format_reward(["B"], question_type=["object_rel_distance"]) == [1.0]
    assert format_reward(["B"], question_type=["object_counting"]) == [0.5]
    assert answer_reward(["b"], ground_truth=["B"], question_type=["route_planning"]) == [1.0]
    call = [assistant(calls=[("locate_objects", {"category": "chair"})]), tool(COUNT_OBS), assistant("C")]
    assert tool_use_reward([call], question_type=["obj_appearance_order"]) == [1.0]
    assert tool_use_reward([call], question_type=["object_counting"]) == [0.5]
