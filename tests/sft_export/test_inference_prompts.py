"""Training data = inference prompts: an SFT row is the chat the agent sent on its last turn,
plus the answer, and renders to the same text a local model reads.

A skill-guided `llm` policy (seed library) answers a spatial_synth training question over real
HTTP (the scripted endpoint records every request body) with tools executed on the session's
real Triton oracle experts: native calls, a tagged call, then the answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest
from transformers import AutoProcessor

from skill3d_eval.agent.loop import LLMPolicy
from skill3d_eval.experts import ExpertsClient
from skill3d_eval.llm import OpenAIEndpoint
from skill3d_eval.llm.transformers_backend import TransformersEndpoint
from skill3d_eval.records import Trajectory
from skill3d_eval.sft_export import export_trajectories
from skill3d_eval.sft_export.rows import load_split
from skill3d_eval.skills.rollouts import synth_samples
from skill3d_eval.skills.seeds import seed_library
from skill3d_eval.testing.tiny_qwen_vl import build_tiny_qwen_vl
from skill3d_eval.tools import ToolContext, default_toolset
from tests.support.scripted_llm import ScriptedLLM, answer

pytestmark = pytest.mark.integration

TOOLS_TEMPLATE = Path(__file__).resolve().parents[2] / "train" / "templates" / "qwen2_5_vl_tools.jinja"


@pytest.fixture(scope="module")
def recorded(synth_root, synth_triton, tmp_path_factory):
    """(trajectory, the requests the endpoint received, the exported TRL row, the ms-swift row)."""
    rows = load_split(synth_root, "train")
    test_scenes = {row.scene for row in load_split(synth_root, "test")}
    row = next(r for r in rows if r.options and r.scene not in test_scenes)
    _, samples = synth_samples(synth_root, "train")
    sample = samples[row.row]

    def script(messages):
        turn = sum(m["role"] == "assistant" for m in messages)
        if turn == 0:
            return {"tool_calls": [{"name": "estimate_depth", "arguments": '{"image": 0, "points": [[4, 4]]}'},
                                   {"name": "estimate_depth", "arguments": '{"image": 1, "points": [[8, 8]]}'}]}
        if turn == 1:
            return answer('Once more.\n<tool_call>\n{"name": "estimate_depth", "arguments": {"image": 2, "points": [[2, 2]]}}\n</tool_call>')
        return answer(f"The answer is {row.ground_truth}.")

    trajectory = Trajectory(task=sample.task, doc_id=sample.doc_id, sample_id=sample.sample_id, question=sample.question, task_type=sample.task_type, scene=sample.scene, policy="llm")
    with ScriptedLLM(script) as llm, ExpertsClient(synth_triton.grpc_url) as experts:
        endpoint = OpenAIEndpoint(openai.OpenAI(base_url=llm.base_url, api_key="k", max_retries=0))
        LLMPolicy(endpoint, "scripted", default_toolset(), max_turns=4, library=seed_library()).run(sample, ToolContext(sample, experts), trajectory)
        requests = llm.requests
    assert trajectory.answer == row.ground_truth and trajectory.guidance and [t.tagged for t in trajectory.turns] == [False, True, False]
    assert all(o.ok for t in trajectory.turns for o in t.observations)

    out = tmp_path_factory.mktemp("export")
    path = out / "trajectories.jsonl"
    path.write_text(trajectory.model_dump_json() + "\n")
    card = export_trajectories([path], synth_root, out / "data", validation_fraction=0.0)
    assert card.splits["train"].examples == 1, card.rejected
    (trl,) = [json.loads(line) for line in (out / "data" / "trl" / "train.jsonl").read_text().splitlines()]
    (swift,) = [json.loads(line) for line in (out / "data" / "swift" / "train.jsonl").read_text().splitlines()]
    return trajectory, requests, trl, swift


def as_trl(message: dict) -> dict:
    """A sent message in TRL's conversational format: content as parts, images as placeholders."""
    content = message["content"]
    if isinstance(content, str):
        parts = [{"type": "text", "text": content}] if content else []
    else:
        parts = [{"type": "image"} if part["type"] == "image_url" else part for part in content]
    converted = {"role": message["role"], "content": parts}
    if message.get("tool_calls"):
        converted["tool_calls"] = message["tool_calls"]
    if message["role"] == "tool":
        converted.update(name="estimate_depth", tool_call_id=message["tool_call_id"])
    return converted


def test_the_trl_row_is_the_last_request_plus_the_answer(recorded):
    trajectory, requests, trl, _ = recorded
    last = requests[-1]
    assert len(requests) == 3 and trajectory.turns[-1].notes == []
    assert trl["messages"] == [as_trl(m) for m in last["messages"]] + [{"role": "assistant", "content": [{"type": "text", "text": trajectory.answer}]}]
    assert json.loads(trl["tools"]) == last["tools"]
    # Skill-guided and multi-turn: the guidance the system prompt had, both kinds of calls, their observations.
    assert trajectory.guidance in last["messages"][0]["content"]
    assert [m["role"] for m in trl["messages"][2:]] == ["assistant", "tool", "tool", "assistant", "user", "assistant"]
    sent_images = sum(part["type"] == "image_url" for part in last["messages"][1]["content"])
    assert len(trl["images"]) == sum(part["type"] == "image" for part in trl["messages"][1]["content"]) == sent_images > 1
    assert trl["prompt"] == trl["messages"][:2]


def test_the_swift_row_is_the_same_chat(recorded):
    trajectory, requests, _, swift = recorded
    sent = requests[-1]["messages"]
    expected = [("system", sent[0]["content"]), ("user", "".join("<image>" if p["type"] == "image_url" else p["text"] for p in sent[1]["content"]))]
    expected += [("tool_call", {"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"])}) for c in sent[2]["tool_calls"]]
    expected += [("tool_response", sent[3]["content"]), ("tool_response", sent[4]["content"]), ("assistant", sent[5]["content"]), ("user", sent[6]["content"])]
    expected.append(("assistant", trajectory.answer))
    assert [(m["role"], json.loads(m["content"]) if m["role"] == "tool_call" else m["content"]) for m in swift["messages"]] == expected
    assert json.loads(swift["tools"]) == requests[-1]["tools"]


@pytest.mark.parametrize("family", ["qwen3_vl", "qwen2_5_vl"])
def test_the_row_renders_to_the_prompt_a_local_model_reads_plus_the_answer(recorded, family, tmp_path):
    """What TRL trains on (the row's messages and tools through the checkpoint's chat template) is
    the in-process backend's prompt for the last request followed by the answer. Qwen2.5-VL trains
    with train/templates/qwen2_5_vl_tools.jinja: its stock template would drop the tools."""
    trajectory, requests, trl, _ = recorded
    checkpoint = build_tiny_qwen_vl(tmp_path / family, family=family)
    inference = TransformersEndpoint(checkpoint).prompt(requests[-1])
    processor = AutoProcessor.from_pretrained(checkpoint)
    template = TOOLS_TEMPLATE.read_text() if family == "qwen2_5_vl" else None
    training = processor.apply_chat_template(trl["messages"], tools=json.loads(trl["tools"]), chat_template=template, tokenize=False)
    assert training == inference + trajectory.answer + "<|im_end|>\n"
    assert '"name": "measure_distance"' in inference and "<tool_response>" in inference
