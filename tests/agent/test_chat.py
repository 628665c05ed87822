"""One chat renderer: what the LLM policy sends is `chat_messages` of its trajectory, and the SFT
rows are conversions of those same messages.

The policy runs over real HTTP against the scripted endpoint; the experts are an instant stub
(depth only), so no Triton is needed.
"""

from __future__ import annotations

import io
import json

import numpy as np
import openai
import pandas as pd
import pytest
from PIL import Image

from skill3d_eval.agent.baselines import DIRECT_SYSTEM_PROMPT, DirectPolicy
from skill3d_eval.agent.chat import chat_messages, question_text
from skill3d_eval.agent.image_payload import image_data_url
from skill3d_eval.agent.loop import EMPTY_REPLY_NOTE, FINAL_TURN_NOTE, LLMPolicy
from skill3d_eval.experts.results import DepthResult, ReconstructionResult
from skill3d_eval.llm import OpenAIEndpoint
from skill3d_eval.records import Sample, Trajectory
from skill3d_eval.sft_export import export_trajectories
from skill3d_eval.sft_export.rows import load_split
from skill3d_eval.skills.seeds import seed_library
from skill3d_eval.tools import ToolContext, default_toolset
from tests.support.scripted_llm import ScriptedLLM, answer

OPTIONS = ["A. left", "B. right"]
DEPTH = '{"image": 0, "points": [[1, 1]]}'


class InstantExperts:
    def depth(self, image: np.ndarray) -> DepthResult:
        return DepthResult(depth=np.full(image.shape[:2], 2.0, np.float32), intrinsics=np.eye(3, dtype=np.float32), meta={})

    def reconstruct(self, images, *, points: bool = False) -> ReconstructionResult:
        """Cameras for the scene descriptor retrieval computes: all at the origin."""
        return ReconstructionResult(poses_c2w=np.repeat(np.eye(4, dtype=np.float32)[None], len(images), 0), intrinsics=np.repeat(np.eye(3, dtype=np.float32)[None], len(images), 0))


def every_kind_of_turn(messages):
    """Native calls (one failing, one repeated), tagged calls (one broken), an empty reply, then an answer once told to."""
    turn = sum(m["role"] == "assistant" for m in messages)
    if turn == 0:
        return {"tool_calls": [{"name": "estimate_depth", "arguments": DEPTH}, {"name": "estimate_depth", "arguments": '{"image": 9}'}, {"name": "estimate_depth", "arguments": DEPTH}]}
    if turn == 1:
        return answer('Another view. <tool_call>{"name": "estimate_depth", "arguments": {"image": 1, "points": [[2, 2]]}}</tool_call>\n<tool_call>{broken}</tool_call>')
    if turn == 2:
        return answer("")
    return answer("On the right, so the answer is B.") if messages[-1]["content"] == FINAL_TURN_NOTE else answer("")


def run(sample: Sample, script, *, max_turns: int, policy=None) -> tuple[Trajectory, list[dict]]:
    trajectory = Trajectory(task=sample.task, doc_id=sample.doc_id, sample_id=sample.sample_id, question=sample.question, task_type=sample.task_type, scene=sample.scene, policy="llm")
    with ScriptedLLM(script) as llm:
        endpoint = OpenAIEndpoint(openai.OpenAI(base_url=llm.base_url, api_key="k", max_retries=0))
        policy = policy(endpoint) if policy else LLMPolicy(endpoint, "scripted", default_toolset(), max_turns=max_turns, library=seed_library())
        policy.run(sample, ToolContext(sample, InstantExperts()), trajectory)
        return trajectory, llm.requests


def frames(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) for _ in range(count)]


def wire(messages: list[dict]) -> list[dict]:
    """As the endpoint receives them (JSON)."""
    return json.loads(json.dumps(messages))


@pytest.mark.integration  # a scripted OpenAI-compatible HTTP endpoint
def test_every_request_is_the_chat_of_the_trajectory_so_far():
    sample = Sample(task="t", doc_id=0, sample_id="t/test/0", question="Is the cabinet left or right of the bed?", frames=frames(2), task_type="object_rel_direction_easy", options=OPTIONS)
    trajectory, requests = run(sample, every_kind_of_turn, max_turns=4)
    images = [image_data_url(frame) for frame in sample.frames]

    # What the records must hold for that: every kind of turn happened and was recorded.
    assert trajectory.answer == "B" and trajectory.options == OPTIONS and trajectory.guidance
    assert [turn.tagged for turn in trajectory.turns] == [False, True, False, False]
    assert [turn.notes for turn in trajectory.turns] == [[], [], [], [EMPTY_REPLY_NOTE, FINAL_TURN_NOTE]]
    assert [o.failure for o in trajectory.turns[0].observations] == [None, "tool_error", "repeated_call"]
    assert [o.failure for o in trajectory.turns[1].observations] == [None, "unknown_tool"]

    assert len(requests) == len(trajectory.turns)
    for index, request in enumerate(requests):
        so_far = trajectory.model_copy(update={"turns": trajectory.turns[:index]})
        assert request["messages"] == wire(chat_messages(so_far, images, next_notes=trajectory.turns[index].notes)), f"request {index}"
    # The last request is the whole recorded chat but the reply it produced.
    full = chat_messages(trajectory, images)
    assert requests[-1]["messages"] == wire(full[:-1])
    assert full[-1] == {"role": "assistant", "content": "On the right, so the answer is B."}

    system, user = full[0]["content"], full[1]["content"]
    assert system.endswith("\n\n" + trajectory.guidance) and "letter of the correct option" in system
    assert user[-1]["text"] == "Is the cabinet left or right of the bed?\nOptions:\nA. left\nB. right"
    assert [part["image_url"]["url"] for part in user if part["type"] == "image_url"] == images
    roles = [m["role"] for m in full[2:]]
    assert roles == ["assistant", "tool", "tool", "tool", "assistant", "user", "user", "assistant", "user", "user", "assistant"]
    assert full[7]["content"].startswith("<tool_response>\n{") and "tool_calls" not in full[6]
    assert [c["function"]["arguments"] for c in full[2]["tool_calls"]] == [DEPTH, '{"image": 9}', DEPTH]


@pytest.mark.integration  # a scripted OpenAI-compatible HTTP endpoint
def test_the_direct_baseline_renders_with_its_own_instructions():
    sample = Sample(task="t", doc_id=0, sample_id="t/test/0", question="How far?", frames=frames(1))
    trajectory, (request,) = run(sample, lambda messages: answer("2.5 m"), max_turns=1, policy=lambda endpoint: DirectPolicy(endpoint, "scripted"))
    assert request["messages"] == wire(chat_messages(trajectory, [image_data_url(sample.frames[0])], instructions=DIRECT_SYSTEM_PROMPT)[:-1])
    assert trajectory.answer == "2.5"


def test_trajectories_written_before_the_chat_fields_still_load():
    old = {"task": "t", "doc_id": 0, "sample_id": "t/test/0", "question": "q", "task_type": None, "scene": None, "policy": "llm", "turns": [{"index": 0, "assistant_text": "2"}]}
    trajectory = Trajectory.model_validate_json(json.dumps(old))
    assert trajectory.options == [] and trajectory.guidance is None
    assert trajectory.turns[0].notes == [] and trajectory.turns[0].tagged is False


def _text(content) -> str:
    """A message's content as text, images as `<image>`: what both training formats reduce to."""
    if isinstance(content, str):
        return content
    return "".join("<image>" if part["type"] in ("image", "image_url") else part["text"] for part in content)


@pytest.mark.integration  # a scripted OpenAI-compatible HTTP endpoint
def test_sft_rows_are_conversions_of_the_messages_the_model_was_sent(synth_root, tmp_path):
    rows = load_split(synth_root, "train")
    test_scenes = {row.scene for row in load_split(synth_root, "test")}
    row = next(r for r in rows if r.options and r.scene not in test_scenes)
    question = str(pd.read_parquet(synth_root / "data" / "train.parquet", columns=["question"]).iloc[row.row]["question"])  # without its options
    sample = Sample(
        task="spatial_synth", doc_id=row.row, sample_id=f"spatial_synth/train/{row.row}", question=question,
        frames=[np.asarray(Image.open(io.BytesIO(data)).convert("RGB")) for data in row.frames],
        task_type=row.question_type, options=row.options, scene=row.scene,
    )

    def script(messages):
        turn = sum(m["role"] == "assistant" for m in messages)
        if turn == 0:
            return {"content": "Depth first.", "tool_calls": [{"name": "estimate_depth", "arguments": DEPTH}]}
        if turn == 1:
            return answer('<tool_call>{"name": "estimate_depth", "arguments": {"image": 1, "points": [[3, 4]]}}</tool_call>')
        return answer(f"The answer is {row.ground_truth}.")

    trajectory, requests = run(sample, script, max_turns=4)
    assert trajectory.answer == row.ground_truth and trajectory.guidance and [t.tagged for t in trajectory.turns] == [False, True, False]
    path = tmp_path / "trajectories.jsonl"
    path.write_text(trajectory.model_dump_json() + "\n")
    out = tmp_path / "export"
    card = export_trajectories([path], synth_root, out, validation_fraction=0.0)
    assert card.splits["train"].examples == 1, card.rejected

    # What the model was sent on its last turn, plus its reply: the chat the rows must convert.
    sent = requests[-1]["messages"] + [{"role": "assistant", "content": trajectory.turns[-1].assistant_text}]
    assert sent[1]["content"][-1]["text"] == question_text(question, row.options) != question

    (trl,) = [json.loads(line) for line in (out / "trl" / "train.jsonl").read_text().splitlines()]
    assert len(trl["messages"]) == len(sent)
    for index, (exported, original) in enumerate(zip(trl["messages"], sent, strict=True)):
        assert exported["role"] == original["role"], index
        if index < len(sent) - 1:
            assert _text(exported["content"]) == _text(original["content"]), index
        assert exported.get("tool_calls") == original.get("tool_calls"), index
        assert exported.get("tool_call_id") == original.get("tool_call_id"), index
    # The one deliberate difference: the final reply is the normalised answer.
    assert trl["messages"][-1] == {"role": "assistant", "content": [{"type": "text", "text": row.ground_truth}]}
    assert trl["messages"][0]["content"] == [{"type": "text", "text": sent[0]["content"]}] and trajectory.guidance in sent[0]["content"]
    assert trl["prompt"] == trl["messages"][:2]
    assert sum(part["type"] == "image" for part in trl["messages"][1]["content"]) == len(trl["images"]) == len(row.frames)
    assert trl["messages"][3]["name"] == "estimate_depth" and json.loads(trl["messages"][3]["content"][0]["text"]) == trajectory.turns[0].observations[0].content

    (swift,) = [json.loads(line) for line in (out / "swift" / "train.jsonl").read_text().splitlines()]
    expected = []
    for message in sent[:-1]:
        if message["role"] == "tool":
            expected.append(("tool_response", message["content"]))
            continue
        if message["content"] or not message.get("tool_calls"):
            expected.append((message["role"], _text(message["content"])))
        expected.extend(("tool_call", {"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"])}) for c in message.get("tool_calls") or [])
    expected.append(("assistant", row.ground_truth))
    got = [(m["role"], json.loads(m["content"]) if m["role"] == "tool_call" else m["content"]) for m in swift["messages"]]
    assert got == expected
    assert swift["messages"][1]["content"].count("<image>") == len(swift["images"]) == len(row.frames)
    assert "<tool_response>" in swift["messages"][6]["content"] and "<tool_call>" in swift["messages"][5]["content"]
