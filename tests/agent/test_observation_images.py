"""Visual evidence in tool observations (`observation_images`): the LLM loop over real HTTP
(openai SDK → scripted endpoint) with the real Triton oracle experts.

The images must reach the model right after the tool results of their turn (for native and
`<tool_call>`-tagged calls alike), show what the JSON reports, respect the per-turn byte budget,
and stay out of the trajectory, which keeps only references. The default sends none.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re

import numpy as np
import openai
import pytest
from PIL import Image

from skill3d_eval.agent.chat import chat_messages
from skill3d_eval.agent.image_payload import evidence_data_url, image_data_url
from skill3d_eval.agent.loop import LLMPolicy
from skill3d_eval.experts import ExpertsClient
from skill3d_eval.llm import OpenAIEndpoint
from skill3d_eval.records import Observation, Trajectory, Turn
from skill3d_eval.session import EvaluationSession
from skill3d_eval.settings import Settings
from skill3d_eval.skills.rollouts import synth_samples
from skill3d_eval.tools import ToolContext, default_toolset
from skill3d_eval.tools.visuals import Visual, encode_visual
from tests.support.scripted_llm import ScriptedLLM, answer

pytestmark = pytest.mark.integration  # a scripted OpenAI-compatible HTTP endpoint and Triton


@pytest.fixture(scope="module")
def case(synth_root, synth_triton):
    """A test-split counting question, an image in which its category is visible, and one instance's box."""
    _, samples = synth_samples(synth_root, "test", {"object_counting"})
    with ExpertsClient(synth_triton.grpc_url) as client:
        for sample in samples.values():
            category = re.search(r"How many (.+?)\(s\)", sample.question).group(1)
            for index, frame in enumerate(sample.frames):
                result = client.segment(frame, category)
                sizes = [(box[2] - box[0]) * (box[3] - box[1]) for box in result.boxes]
                if len(result) and max(sizes) >= 64:
                    box = [float(v) for v in result.boxes[int(np.argmax(sizes))]]
                    return sample, category, index, box
    raise AssertionError("no counting question shows its category")


def script_for(category: str, image: int, box: list[float]):
    """Native segmentation + depth, then tagged super-resolution + novel view, then an answer."""

    def script(messages):
        turn = sum(m["role"] == "assistant" for m in messages)
        if turn == 0:
            return {"tool_calls": [
                {"name": "segment_objects", "arguments": f'{{"image": {image}, "prompt": "{category}"}}'},
                {"name": "estimate_depth", "arguments": f'{{"image": {image}}}'},
            ]}
        if turn == 1:
            return answer(
                f'<tool_call>{{"name": "super_resolve", "arguments": {{"image": {image}, "box": {box}}}}}</tool_call>\n'
                '<tool_call>{"name": "render_view", "arguments": {"azimuth_deg": 30, "elevation_deg": 10}}</tool_call>'
            )
        return answer("3")

    return script


def run(case, synth_triton, **options):
    sample, category, image, box = case
    trajectory = Trajectory(task=sample.task, doc_id=sample.doc_id, sample_id=sample.sample_id, question=sample.question, task_type=sample.task_type, scene=sample.scene, policy="llm")
    with ScriptedLLM(script_for(category, image, box)) as llm, ExpertsClient(synth_triton.grpc_url) as experts:
        endpoint = OpenAIEndpoint(openai.OpenAI(base_url=llm.base_url, api_key="k", max_retries=0))
        views = options.get("observation_images", False)
        policy = LLMPolicy(endpoint, "scripted", default_toolset(views=views), max_turns=4, **options)
        context = ToolContext(sample, experts)
        policy.run(sample, context, trajectory)
        return trajectory, llm.requests, context


def decode(part: dict) -> np.ndarray:
    header, data = part["image_url"]["url"].split(",", 1)
    assert header in ("data:image/png;base64", "data:image/jpeg;base64")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


def evidence_parts(message: dict) -> list[tuple[str, np.ndarray | None]]:
    """(label, image or None) pairs of an evidence message."""
    pairs: list[tuple[str, np.ndarray | None]] = []
    for part in message["content"]:
        if part["type"] == "text":
            pairs.append((part["text"], None))
        else:
            pairs[-1] = (pairs[-1][0], decode(part))
    return pairs


def test_tool_images_follow_the_turns_tool_results_native_and_tagged(case, synth_triton):
    sample, category, image, box = case
    trajectory, requests, context = run(case, synth_triton, observation_images=True)
    assert trajectory.answer == "3" and [t.tagged for t in trajectory.turns] == [False, True, False]
    assert "render_view" in {tool["function"]["name"] for tool in requests[0]["tools"]}

    # Native calls: both tool messages, then one user message with each call's image after its label.
    second = requests[1]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "tool", "tool", "user"]
    (seg_label, overlay), (depth_label, colormap) = evidence_parts(second[-1])
    segment, depth = trajectory.turns[0].observations
    assert seg_label.startswith(f"Evidence from segment_objects (call {segment.tool_call_id}): image {image} with the {segment.content['count']} '{category}'")
    frame = sample.frames[image]
    assert overlay.shape == frame.shape and colormap.shape == frame.shape
    # The overlay is the frame, tinted inside the instances' masks (lossless PNG: exact elsewhere).
    masks = context.segment(image, category).masks.any(axis=0)
    changed = np.any(overlay != frame, axis=2)
    assert changed[masks].mean() > 0.9
    x1, y1, x2, y2 = (int(v) for v in box)
    assert changed[y2 - 1, x1:x2].mean() > 0.9 and changed[y1:y2, x2 - 1].mean() > 0.9  # the box's outline
    assert changed[~masks].mean() < 0.2  # outside the masks: only outlines and labels
    # The depth colour map names its metric range, the one the JSON reports.
    assert f"{depth.content['depth_m']['min']} m (nearest)" in depth_label and f"{depth.content['depth_m']['max']} m (farthest)" in depth_label
    assert len(np.unique(colormap.reshape(-1, 3), axis=0)) > 20

    # Tagged calls: the <tool_response> user messages, then the same kind of evidence message.
    third = requests[2]["messages"]
    assert [m["role"] for m in third[6:]] == ["assistant", "user", "user", "user"]
    assert third[7]["content"].startswith("<tool_response>") and third[8]["content"].startswith("<tool_response>")
    (sr_label, enlarged), (view_label, view) = evidence_parts(third[-1])
    restored, rendered = trajectory.turns[1].observations
    scale = restored.content["scale"]
    assert scale >= 2 and list(enlarged.shape[1::-1]) == restored.content["size_px"] == [scale * (x2 - x1), scale * (y2 - y1)]
    assert "super_resolve" in sr_label and f"enlarged {scale}x" in sr_label
    assert view.shape == frame.shape and "render_view" in view_label and rendered.content["covered_fraction"] > 0.3
    # Earlier evidence is resent with the history, unchanged.
    assert third[:6] == second

    # The trajectory keeps references: the sha256 of the bytes sent, not the bytes.
    for observation in [*trajectory.turns[0].observations, *trajectory.turns[1].observations]:
        (reference,) = observation.images
        assert reference.attached and hashlib.sha256(context.evidence[reference.sha256]).hexdigest() == reference.sha256
    assert "base64" not in trajectory.model_dump_json() and len(trajectory.model_dump_json()) < 12_000
    # One renderer: the recorded trajectory with its evidence rebuilds the last request exactly.
    references = [image for turn in trajectory.turns for o in turn.observations for image in o.images]
    evidence = {image.sha256: evidence_data_url(context.evidence[image.sha256], image.media_type) for image in references}
    assert chat_messages(trajectory, [image_data_url(f) for f in sample.frames], evidence=evidence)[:-1] == requests[-1]["messages"]


def test_images_over_the_turns_byte_budget_are_left_out_and_the_model_is_told(case, synth_triton):
    trajectory, requests, _ = run(case, synth_triton, observation_images=True, observation_image_bytes=100)
    for request in requests[1:]:
        notes = request["messages"][-1]
        assert notes["role"] == "user" and all(part["type"] == "text" for part in notes["content"])
        assert len(notes["content"]) == 2 and all("not attached: this turn's image budget was spent" in part["text"] for part in notes["content"])
    assert [image.attached for turn in trajectory.turns for o in turn.observations for image in o.images] == [False] * 4


def test_a_budget_fits_images_in_call_order(case, synth_triton):
    first, _, _ = run(case, synth_triton, observation_images=True)
    segment_bytes = first.turns[0].observations[0].images[0].size_bytes
    trajectory, requests, _ = run(case, synth_triton, observation_images=True, observation_image_bytes=segment_bytes)
    assert [o.images[0].attached for o in trajectory.turns[0].observations] == [True, False]
    kinds = [part["type"] for part in requests[1]["messages"][-1]["content"]]
    assert kinds == ["text", "image_url", "text"]


def test_text_only_by_default(case, synth_triton):
    trajectory, requests, context = run(case, synth_triton)
    frames = len(case[0].frames)
    assert "render_view" not in {tool["function"]["name"] for tool in requests[0]["tools"]}
    for request in requests:
        assert sum(part["type"] == "image_url" for m in request["messages"] if isinstance(m["content"], list) for part in m["content"]) == frames
    assert [m["role"] for m in requests[1]["messages"]] == ["system", "user", "assistant", "tool", "tool"]
    assert not context.evidence and not any(o.images for turn in trajectory.turns for o in turn.observations)
    # render_view is not offered: the tagged call to it is an unknown tool.
    assert trajectory.turns[1].observations[1].failure == "unknown_tool"


def test_the_options_enter_the_settings_fingerprint():
    base = Settings(policy="tool_agent")
    assert base.observation_images is False
    assert base.fingerprint() != Settings(policy="tool_agent", observation_images=True).fingerprint()
    assert Settings(policy="tool_agent", observation_images=True).fingerprint() != Settings(policy="tool_agent", observation_images=True, observation_image_bytes=10).fingerprint()


def test_the_local_transformers_backend_reads_tool_images(tmp_path):
    """A tiny Qwen3-VL checkpoint takes the evidence message after both kinds of tool results:
    its images become image tokens in the prompt."""
    from skill3d_eval.llm.transformers_backend import TransformersEndpoint, _to_transformers
    from skill3d_eval.testing.tiny_qwen_vl import build_tiny_qwen_vl

    frame = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    encoded = encode_visual(Visual("depth_colormap", "a colour map", np.full((32, 32, 3), 90, np.uint8)))
    observation = Observation(tool_call_id="call_0", name="estimate_depth", ok=True, content={"image": 0}, images=[encoded.reference])
    tagged = observation.model_copy(update={"tool_call_id": "tag-1-0"})
    trajectory = Trajectory(
        task="t", doc_id=0, sample_id="t/test/0", question="How far?", task_type=None, scene=None, policy="llm",
        turns=[
            Turn(index=0, tool_calls=[{"id": "call_0", "name": "estimate_depth", "arguments": '{"image": 0}'}], observations=[observation]),
            Turn(index=1, assistant_text='<tool_call>{"name": "estimate_depth", "arguments": {"image": 0}}</tool_call>', tagged=True,
                 tool_calls=[{"id": "tag-1-0", "name": "estimate_depth", "arguments": {"image": 0}}], observations=[tagged]),
        ],
    )
    evidence = {encoded.reference.sha256: evidence_data_url(encoded.data, encoded.reference.media_type)}
    endpoint = TransformersEndpoint(build_tiny_qwen_vl(tmp_path / "qwen3vl"))
    messages = chat_messages(trajectory, [image_data_url(frame)], evidence=evidence)
    assert [m["role"] for m in messages[2:]] == ["assistant", "tool", "user", "assistant", "user", "user"]

    prompt = endpoint.processor.apply_chat_template([_to_transformers(m) for m in messages], add_generation_prompt=True, tokenize=False)
    assert prompt.count("<|vision_start|>") == 3  # the question's frame and both evidence images
    assert prompt.index("</tool_response>") < prompt.index("Evidence from estimate_depth (call call_0)") < prompt.rindex("<|vision_start|>")
    with_images = endpoint.complete({"model": "tiny", "messages": messages, "max_tokens": 1}).usage.prompt_tokens
    text_only = endpoint.complete({"model": "tiny", "messages": chat_messages(trajectory, [image_data_url(frame)]), "max_tokens": 1}).usage.prompt_tokens
    assert with_images > text_only


def test_the_session_builds_the_llm_policy_with_the_options(tmp_path):
    with ScriptedLLM(lambda messages: answer("1")) as llm:
        settings = Settings(policy="tool_agent", base_url=llm.base_url, api_key="k", model="scripted", output_dir=tmp_path, observation_images=True, observation_image_bytes=5000)
        policy = EvaluationSession(settings).policy({"t"}, {}, {})
    assert policy.observation_images and policy.observation_image_bytes == 5000 and "render_view" in policy.tools.tools
