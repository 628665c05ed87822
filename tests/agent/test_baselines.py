"""Chance baselines from known answer distributions (any benchmark's rows), and `direct` against a
real scripted endpoint."""

from __future__ import annotations

from collections import Counter

import numpy as np
import openai
import pandas as pd
import pytest

from skill3d_eval.llm import OpenAIEndpoint
from skill3d_eval.agent.baselines import AnswerDataError, ChanceFrequencyPolicy, ChanceRandomPolicy, DirectPolicy, answer_columns
from skill3d_eval.records import SampleError
from skill3d_eval.records import Sample, Trajectory
from skill3d_eval.scoring import numeric_mra
from skill3d_eval.tools import ToolContext
from tests.support.scripted_llm import ScriptedLLM, answer

TRAIN = [
    {"question_type": "object_counting", "ground_truth": "2", "options": []},
    {"question_type": "object_counting", "ground_truth": "2", "options": []},
    {"question_type": "object_counting", "ground_truth": "5", "options": []},
    {"question_type": "object_counting", "ground_truth": "1", "options": []},
    {"question_type": "object_abs_distance", "ground_truth": "1.5", "options": []},
    {"question_type": "object_abs_distance", "ground_truth": "2.25", "options": []},
    {"question_type": "object_abs_distance", "ground_truth": "4.0", "options": []},
    # "left" is the most frequent answer text although its letter varies
    {"question_type": "object_rel_direction_easy", "ground_truth": "A", "options": ["A. left", "B. right"]},
    {"question_type": "object_rel_direction_easy", "ground_truth": "B", "options": ["A. right", "B. left"]},
    {"question_type": "object_rel_direction_easy", "ground_truth": "B", "options": ["A. right", "B. Left"]},
    {"question_type": "object_rel_direction_easy", "ground_truth": "A", "options": ["A. right", "B. left"]},
]


def sample(task_type: str, options: list[str] | None = None, sample_id: str = "t/test/0") -> Sample:
    return Sample(task="t", doc_id=0, sample_id=sample_id, question="q?", frames=[], task_type=task_type, options=options or [])


def run(policy, s: Sample) -> Trajectory:
    trajectory = Trajectory(task=s.task, doc_id=s.doc_id, sample_id=s.sample_id, question=s.question, task_type=s.task_type, scene=None, policy=policy.name)
    return policy.run(s, ToolContext(s, experts=None), trajectory)


def test_chance_frequency_answers_the_most_frequent_training_answer_per_type():
    policy = ChanceFrequencyPolicy(TRAIN)
    assert run(policy, sample("object_counting")).answer == "2"  # mode of integer answers
    assert run(policy, sample("object_abs_distance")).answer == "2.58"  # mean of continuous answers: 7.75 / 3
    # the option whose text was chosen most often, wherever it sits
    assert run(policy, sample("object_rel_direction_easy", ["A. right", "B. left"])).answer == "B"
    assert run(policy, sample("object_rel_direction_easy", ["A. left", "B. right"])).answer == "A"
    trajectory = run(policy, sample("object_counting"))
    assert trajectory.stop_reason == "answer" and trajectory.turns == [] and trajectory.final_text == "2"


def test_chance_frequency_breaks_count_ties_towards_the_smaller_value():
    policy = ChanceFrequencyPolicy([{"question_type": "c", "ground_truth": g, "options": None} for g in ("3", "1", "3", "1")])
    assert run(policy, sample("c")).answer == "1"


def test_chance_random_is_uniform_over_options_and_reproducible_per_sample():
    policy = ChanceRandomPolicy(TRAIN, seed=7)
    options = ["A. a", "B. b", "C. c", "D. d"]
    answers = [run(policy, sample("object_rel_distance", options, f"t/test/{i}")).answer for i in range(2000)]
    counts = Counter(answers)
    assert set(counts) == {"A", "B", "C", "D"}
    assert all(abs(count / 2000 - 0.25) < 0.04 for count in counts.values())
    again = [run(ChanceRandomPolicy(TRAIN, seed=7), sample("object_rel_distance", options, f"t/test/{i}")).answer for i in range(50)]
    assert again == answers[:50]
    other_seed = [run(ChanceRandomPolicy(TRAIN, seed=8), sample("object_rel_distance", options, f"t/test/{i}")).answer for i in range(50)]
    assert other_seed != answers[:50]


def test_chance_random_numeric_draws_within_the_training_range():
    policy = ChanceRandomPolicy(TRAIN)
    counts = [run(policy, sample("object_counting", sample_id=f"s{i}")).answer for i in range(300)]
    assert {int(c) for c in counts} == {1, 2, 3, 4, 5} and all(c.isdigit() for c in counts)
    distances = [float(run(policy, sample("object_abs_distance", sample_id=f"s{i}")).answer) for i in range(300)]
    assert 1.5 <= min(distances) < 1.8 and 3.7 < max(distances) <= 4.0


def test_unknown_question_type_is_a_recorded_sample_error():
    with pytest.raises(SampleError, match=r"t/test/0: no answers of question type 'room_size_estimation' to learn from"):
        run(ChanceFrequencyPolicy(TRAIN), sample("room_size_estimation"))


@pytest.mark.parametrize(
    ("docs", "message"),
    [
        ([{"ground_truth": "1"}], r"doc 0: missing 'question_type'"),
        ([TRAIN[0], {"question_type": "c", "ground_truth": "many", "options": []}], r"doc 1: numerical ground_truth 'many'"),
        ([{"question_type": "c", "ground_truth": "C", "options": ["A. x", "B. y"]}], r"doc 0: ground_truth 'C' is none of its options"),
        ([{"id": 3, "answer": "(E)", "task": "Depth", "choices": ["x", "y"]}], r"doc 0: answer '\(E\)' is none of its options"),
        ([{"question": "q?"}], r"doc 0: a row with columns \['question'\] is no benchmark's"),
        ([], r"no documents"),
    ],
)
def test_bad_documents_are_named(docs, message):
    with pytest.raises(AnswerDataError, match=message):
        ChanceFrequencyPolicy(docs)


# Test-only benchmarks' rows, as lmms-eval hands them over (MMSI after `process_docs` added `options`).
CV_ROWS = [
    {"idx": i, "type": "3D", "task": "Depth", "choices": choices, "answer": answer, "source": "Omni3D"}
    for i, (choices, answer) in enumerate([(["lamp", "sofa"], "(B)"), (["bed", "desk"], "(B)"), (["cup", "tv"], "(A)")])
]
BLINK_ROWS = [{"idx": f"val_{i}", "sub_task": "Multi-view_Reasoning", "choices": ["left", "right"], "answer": answer} for i, answer in enumerate(["(A)", "(B)", "(B)"])]
MMSI_ROWS = [
    {"id": i, "question_type": "Positional Relationship (Cam.-Obj.)", "answer": answer, "options": ["A: front-left", "B: front-right", "C: back-left", "D: back-right"]}
    for i, answer in enumerate("CCAD")
]


@pytest.mark.parametrize(
    ("rows", "task_type", "options", "expected"),
    [
        (CV_ROWS, "Depth", ["chair", "box"], "B"),  # texts never chosen before: the most frequent letter
        (CV_ROWS, "Depth", ["desk", "lamp"], "A"),  # else the text chosen most often
        (BLINK_ROWS, "Multi-view_Reasoning", ["left", "right"], "B"),  # "right" was chosen twice
        (BLINK_ROWS, "Multi-view_Reasoning", ["right", "left"], "A"),
        (MMSI_ROWS, "Positional Relationship (Cam.-Obj.)", MMSI_ROWS[0]["options"], "C"),
    ],
    ids=["cvbench-letter", "cvbench-text", "blink", "blink-swapped", "mmsi"],
)
def test_chance_frequency_reads_every_benchmarks_columns(rows, task_type, options, expected):
    assert run(ChanceFrequencyPolicy(rows), sample(task_type, options)).answer == expected


def test_on_the_evaluated_split_a_question_is_answered_from_every_row_but_its_own():
    rows = [
        {"id": 0, "question_type": "P", "answer": "A", "options": ["A: sofa", "B: lamp"]},  # "sofa" occurs nowhere else
        {"id": 1, "question_type": "P", "answer": "B", "options": ["A: bed", "B: desk"]},
        {"id": 2, "question_type": "P", "answer": "B", "options": ["A: tv", "B: desk"]},
    ]
    own = ChanceFrequencyPolicy(rows)  # a training split: all rows count
    evaluated = ChanceFrequencyPolicy(rows, leave_one_out=True)
    question = Sample(task="t", doc_id=0, sample_id="t/test/0", question="q?", frames=[], task_type="P", options=rows[0]["options"])
    assert run(own, question).answer == "A"  # its own truth is the only "sofa" answer
    assert run(evaluated, question).answer == "B"  # left out: the other rows chose B twice
    numbers = [{"question_type": "object_counting", "ground_truth": g, "options": None} for g in ("5", "2", "5")]
    counting = Sample(task="t", doc_id=0, sample_id="t/test/0", question="q?", frames=[], task_type="object_counting")
    assert run(ChanceFrequencyPolicy(numbers), counting).answer == "5"
    assert run(ChanceFrequencyPolicy(numbers, leave_one_out=True), counting).answer == "2"  # 2 and 5 tie: the smaller
    with pytest.raises(SampleError, match=r"doc 7 is not a 'P' row"):
        run(evaluated, Sample(task="t", doc_id=7, sample_id="t/test/7", question="q?", frames=[], task_type="P", options=["A: x", "B: y"]))


def test_only_the_answer_columns_are_read():
    assert answer_columns(["idx", "type", "task", "image", "question", "choices", "answer", "source"]) == ["answer", "task", "choices"]
    assert answer_columns(["id", "images", "question_type", "question", "answer", "options"]) == ["answer", "question_type", "options"]
    assert answer_columns(["id", "question_type", "ground_truth", "scene_name"]) == ["ground_truth", "question_type"]


def test_chance_frequency_on_spatial_synth_scores_what_its_constant_answer_scores(synth_root):
    train = pd.read_parquet(synth_root / "data" / "train.parquet", columns=["question_type", "ground_truth", "options"])
    test = pd.read_parquet(synth_root / "data" / "test.parquet", columns=["question_type", "ground_truth", "options"])
    policy = ChanceFrequencyPolicy(train.to_dict("records"))
    counting = train[train.question_type == "object_counting"].ground_truth.astype(float)
    mode = counting.value_counts().sort_index().idxmax()
    counting_test = test[test.question_type == "object_counting"]
    answer_given = run(policy, sample("object_counting")).answer
    assert float(answer_given) == mode
    expected = np.mean([numeric_mra(str(int(mode)), truth) for truth in counting_test.ground_truth])
    scored = np.mean([numeric_mra(answer_given, truth) for truth in counting_test.ground_truth])
    assert scored == pytest.approx(expected)


@pytest.mark.integration  # a scripted OpenAI-compatible HTTP endpoint
def test_direct_sends_question_and_images_without_tools_and_normalises_the_reply():
    frame = np.zeros((8, 8, 3), dtype=np.uint8)
    s = Sample(task="t", doc_id=3, sample_id="t/test/3", question="How far apart are the sofa and the lamp (in meters)?", frames=[frame, frame])
    with ScriptedLLM(lambda messages: answer("They are about 2.5 meters apart.")) as llm:
        client = openai.OpenAI(base_url=llm.base_url, api_key="test-key", max_retries=0)
        trajectory = run(DirectPolicy(OpenAIEndpoint(client), "scripted", max_tokens=64), s)
    (request,) = llm.requests
    assert "tools" not in request and "tool_choice" not in request
    assert request["model"] == "scripted" and request["max_tokens"] == 64
    system, user = request["messages"]
    assert "tool" not in system["content"].lower() and "single number" in system["content"]
    assert [part["type"] for part in user["content"]].count("image_url") == 2
    assert trajectory.answer == "2.5" and trajectory.final_text == "They are about 2.5 meters apart."
    assert trajectory.tool_calls == 0 and len(trajectory.turns) == 1
    assert (trajectory.turns[0].prompt_tokens, trajectory.turns[0].completion_tokens) == (100, 10)


@pytest.mark.integration  # a scripted OpenAI-compatible HTTP endpoint
def test_direct_multiple_choice_reply_becomes_the_letter():
    s = Sample(task="t", doc_id=0, sample_id="t/test/0", question="Which is closer to the bed?", frames=[], options=["A. chair", "B. table"])
    with ScriptedLLM(lambda messages: answer("The answer is B.")) as llm:
        trajectory = run(DirectPolicy(OpenAIEndpoint(openai.OpenAI(base_url=llm.base_url, api_key="k", max_retries=0)), "m"), s)
    assert trajectory.answer == "B"
    assert "letter" in llm.requests[0]["messages"][0]["content"]
