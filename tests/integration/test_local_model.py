"""The in-process transformers backend: a tiny random Qwen3-VL checkpoint answers through the
real lmms-eval CLI (its replies are noise; the point is that the whole path runs)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from skill3d_eval.agent.chat import chat_messages
from skill3d_eval.agent.image_payload import image_data_url
from skill3d_eval.records import Sample, Trajectory
from skill3d_eval.trajectory_log import read_trajectories
from skill3d_eval.evaluate import run_lmms_eval
from skill3d_eval.llm.transformers_backend import TransformersEndpoint, _to_transformers
from skill3d_eval.tools import default_toolset

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    from skill3d_eval.testing.tiny_qwen_vl import build_tiny_qwen_vl

    return build_tiny_qwen_vl(tmp_path_factory.mktemp("tiny") / "qwen3vl")


def initial_messages(sample: Sample) -> list[dict]:
    """The agent's opening chat for `sample`."""
    trajectory = Trajectory(task=sample.task, doc_id=sample.doc_id, sample_id=sample.sample_id, question=sample.question, task_type=None, scene=None, policy="llm", options=sample.options)
    return chat_messages(trajectory, [image_data_url(frame) for frame in sample.frames])


def test_messages_are_converted_with_decoded_images():
    sample = Sample(task="t", doc_id=0, sample_id="t/test/0", question="How far?", frames=[np.full((6, 8, 3), 200, np.uint8)])
    system, user = (_to_transformers(m) for m in initial_messages(sample))
    assert system["content"] == [{"type": "text", "text": initial_messages(sample)[0]["content"]}]
    image = next(part["image"] for part in user["content"] if part["type"] == "image")
    assert image.size == (8, 6)
    assert _to_transformers({"role": "tool", "content": '{"count": 2}'})["content"][0]["text"] == '{"count": 2}'


def test_endpoint_returns_a_chat_completion_with_usage(tiny_checkpoint):
    endpoint = TransformersEndpoint(tiny_checkpoint)
    sample = Sample(task="t", doc_id=0, sample_id="t/test/0", question="How many chair(s)?", frames=[np.zeros((64, 64, 3), np.uint8)])
    body = {"model": "tiny", "messages": initial_messages(sample), "tools": default_toolset().openai_schemas(), "tool_choice": "auto", "max_tokens": 4}
    completion = endpoint.complete(body)
    assert completion.usage.completion_tokens <= 4 and completion.usage.prompt_tokens > 100
    assert isinstance(completion.choices[0].message.content, str)


def test_local_checkpoint_through_the_cli(synth_root, synth_triton, tiny_checkpoint, tmp_path):
    results_file = run_lmms_eval(
        ["spatial_synth"],
        {"policy": "llm", "llm_backend": "transformers", "model": tiny_checkpoint, "max_tokens": 8, "max_turns": 2, "triton_url": synth_triton.grpc_url, "output_dir": tmp_path / "runs", "run_name": "local", "concurrency": 2},
        tmp_path / "out",
        limit=2,
    )
    assert json.loads(results_file.read_text())["n-samples"]["spatial_synth"]["effective"] == 2
    # Qwen3-VL's template renders the tools itself, and the run says so.
    assert json.loads((tmp_path / "runs" / "local" / "run_info.json").read_text())["tool_rendering"] == "chat_template"
    trajectories = read_trajectories(tmp_path / "runs" / "local" / "trajectories.jsonl")
    assert len(trajectories) == 2
    for trajectory in trajectories:
        assert trajectory.error is None and trajectory.turns and trajectory.turns[0].prompt_tokens > 100
