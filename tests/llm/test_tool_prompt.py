"""The tool schemas reach every local model: through its own template when that renders tools,
else as a Hermes block in the system message; a template that can do neither is refused.

The checkpoints are tiny random Qwen-VL models built from configs with the real chat templates
the released checkpoints ship: Qwen2.5-VL's has no tools branch (the issue's failure: tools
passed to it vanish), Qwen3-VL's renders them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from transformers import AutoProcessor
from trl.chat_template_utils import gemma_chat_template, has_generation_markers, qwen2_5_vl_chat_template

from skill3d_eval.agent.chat import chat_messages
from skill3d_eval.agent.image_payload import image_data_url
from skill3d_eval.agent.tool_tags import parse_tool_tags
from skill3d_eval.llm import ToolTemplateUnsupported
from skill3d_eval.llm.tool_prompt import hermes_tools_block, probe_tool_rendering, with_hermes_tools
from skill3d_eval.llm.transformers_backend import TransformersEndpoint, _to_transformers
from skill3d_eval.records import Observation, Trajectory, Turn
from skill3d_eval.session import EvaluationSession
from skill3d_eval.settings import Settings, SettingsError
from skill3d_eval.testing.tiny_qwen_vl import build_tiny_qwen_vl, tiny_processor
from skill3d_eval.tools import default_toolset

TOOLS_TEMPLATE = Path(__file__).resolve().parents[2] / "train" / "templates" / "qwen2_5_vl_tools.jinja"
SCHEMAS = default_toolset().openai_schemas()


@pytest.fixture(scope="module")
def qwen2_5_vl(tmp_path_factory) -> Path:
    return build_tiny_qwen_vl(tmp_path_factory.mktemp("tiny") / "qwen2_5_vl", family="qwen2_5_vl")


@pytest.fixture(scope="module")
def qwen3_vl(tmp_path_factory) -> Path:
    return build_tiny_qwen_vl(tmp_path_factory.mktemp("tiny") / "qwen3_vl")


def agent_messages() -> list[dict]:
    """The agent's chat after every kind of turn: native calls with their results in a row, a
    tagged call answered by a `<tool_response>` user message, and a note."""
    depth = Observation(tool_call_id="call_0", name="estimate_depth", ok=True, content={"depth_m": [2.0]})
    failed = Observation(tool_call_id="call_1", name="locate_objects", ok=False, error="no such category", failure="tool_error")
    tagged = Observation(tool_call_id="tag-1-0", name="estimate_depth", ok=True, content={"depth_m": [3.5]})
    trajectory = Trajectory(
        task="t", doc_id=0, sample_id="t/train/0", question="How far is the chair?", task_type=None, scene=None, policy="llm",
        guidance="Skill 1 [depth]: read the depth at the chair.",
        turns=[
            Turn(index=0, assistant_text="Depth first.", tool_calls=[
                {"id": "call_0", "name": "estimate_depth", "arguments": '{"image": 0, "points": [[1, 1]]}'},
                {"id": "call_1", "name": "locate_objects", "arguments": {"category": "chair"}},
            ], observations=[depth, failed]),
            Turn(index=1, assistant_text='<tool_call>\n{"name": "estimate_depth", "arguments": {"image": 1, "points": [[2, 2]]}}\n</tool_call>', tagged=True,
                 tool_calls=[{"id": "tag-1-0", "name": "estimate_depth", "arguments": {"image": 1, "points": [[2, 2]]}}], observations=[tagged]),
        ],
    )
    frames = [np.full((56, 56, 3), value, np.uint8) for value in (40, 200)]
    return chat_messages(trajectory, [image_data_url(frame) for frame in frames], next_notes=["Answer now."])


def body(messages: list[dict]) -> dict:
    return {"model": "tiny", "messages": messages, "tools": SCHEMAS, "tool_choice": "auto", "max_tokens": 2}


def assert_sees_every_tool(prompt: str) -> None:
    for schema in SCHEMAS:
        assert f'"name": "{schema["function"]["name"]}"' in prompt
        assert json.dumps(schema, ensure_ascii=False) in prompt, f"{schema['function']['name']}'s JSON schema is not in the prompt"


def test_qwen2_5_vl_stock_template_drops_tools_so_they_go_in_a_hermes_block(qwen2_5_vl):
    endpoint = TransformersEndpoint(qwen2_5_vl)
    assert endpoint.processor.chat_template == qwen2_5_vl_chat_template and endpoint.tool_rendering == "hermes_system_block"
    messages = agent_messages()
    # The issue: handed the tools, the stock template renders the chat without them.
    stock = endpoint.processor.apply_chat_template([_to_transformers(m) for m in messages], tools=SCHEMAS, add_generation_prompt=True, tokenize=False)
    assert "<tools>" not in stock and "measure_distance" not in stock

    prompt = endpoint.prompt(body(messages))
    assert_sees_every_tool(prompt)
    system = prompt.split("<|im_end|>")[0]
    assert system.startswith("<|im_start|>system\nYou answer spatial questions") and "Skill 1 [depth]" in system
    assert system.endswith(hermes_tools_block(SCHEMAS)) and "<tool_call>\n{\"name\": <function-name>" in system
    # The native calls as the tag text the model is told to write, their two results in one user turn.
    assert '<|im_start|>assistant\nDepth first.\n<tool_call>\n{"name": "estimate_depth", "arguments": {"image": 0, "points": [[1, 1]]}}\n</tool_call>\n<tool_call>\n{"name": "locate_objects", "arguments": {"category":"chair"}}\n</tool_call><|im_end|>' in prompt
    assert '<|im_start|>user\n<tool_response>\n{"depth_m":[2.0]}\n</tool_response>\n<tool_response>\n{"error":"no such category"}\n</tool_response><|im_end|>' in prompt
    assert prompt.count("<|vision_start|><|image_pad|><|vision_end|>") == 2 and prompt.endswith("Answer now.<|im_end|>\n<|im_start|>assistant\n")

    completion = endpoint.complete(body(messages))
    tokens = endpoint.processor.tokenizer
    added = completion.usage.prompt_tokens - len(tokens(stock)["input_ids"])  # image tokens expanded, calls and schemas added
    assert added >= len(tokens(hermes_tools_block(SCHEMAS))["input_ids"]), "the tokens generated from must include the schemas"
    assert completion.usage.completion_tokens <= 2


def test_a_tool_call_the_model_writes_parses_into_a_valid_call(qwen2_5_vl):
    endpoint = TransformersEndpoint(qwen2_5_vl)
    written = '<tool_call>\n{"name": "measure_distance", "arguments": {"object_a": "table", "object_b": "sofa"}}\n</tool_call>'
    tokens = endpoint.processor.tokenizer(written + "<|im_end|>")["input_ids"]
    assert endpoint.processor.tokenizer.convert_tokens_to_ids("<tool_call>") in tokens, "<tool_call> is one token, as in Qwen's vocabulary"
    (call,) = parse_tool_tags(endpoint.reply_text(tokens), turn=0)
    assert call.name == "measure_distance" and call.arguments == {"object_a": "table", "object_b": "sofa"}
    assert default_toolset().tools[call.name].parse(call.arguments).model_dump()["object_b"] == "sofa"


def test_a_tools_aware_template_renders_them_itself(qwen3_vl):
    endpoint = TransformersEndpoint(qwen3_vl)
    assert endpoint.tool_rendering == "chat_template"
    messages = agent_messages()
    prompt = endpoint.prompt(body(messages))
    assert_sees_every_tool(prompt)
    assert prompt == endpoint.processor.apply_chat_template([_to_transformers(m) for m in messages], tools=SCHEMAS, add_generation_prompt=True, tokenize=False)
    # On the last turn (tool_choice none) the schemas stay, as `vllm serve` keeps them: same layout every turn.
    assert endpoint.prompt({**body(messages), "tool_choice": "none"}) == prompt


def test_the_vllm_template_file_renders_what_the_backend_renders():
    """train/templates/qwen2_5_vl_tools.jinja (for `vllm serve --chat-template` and training) is
    Qwen2.5-VL's stock template plus tools: byte-identical to the backend's Hermes rendering."""
    processor = tiny_processor(family="qwen2_5_vl")
    tools_template = TOOLS_TEMPLATE.read_text()
    messages = agent_messages()

    def render(chat, template, tools=None):
        return processor.apply_chat_template([_to_transformers(m) for m in chat], tools=tools, chat_template=template, add_generation_prompt=True, tokenize=False)

    with_file = render(messages, tools_template, SCHEMAS)
    assert_sees_every_tool(with_file)
    assert with_file == render(with_hermes_tools(messages, SCHEMAS), qwen2_5_vl_chat_template)
    # Without a system message; and without tools, where calls and results still render as tags.
    assert render(messages[1:], tools_template, SCHEMAS) == render(with_hermes_tools(messages[1:], SCHEMAS), qwen2_5_vl_chat_template)
    assert render(messages, tools_template) == render(with_hermes_tools(messages, None), qwen2_5_vl_chat_template)
    # A chat of no tools and no calls renders exactly as under the stock template.
    for opening in (messages[:2], messages[1:2]):
        assert render(opening, tools_template) == render(opening, qwen2_5_vl_chat_template)
    # A checkpoint carrying the file as its template is served by it directly.
    assert with_file.startswith("<|im_start|>system\nYou answer spatial questions")


def test_the_template_file_makes_a_qwen2_5_vl_checkpoint_render_tools_natively(tmp_path):
    checkpoint = tmp_path / "qwen2_5_vl_tools"
    tiny_processor(family="qwen2_5_vl", chat_template=TOOLS_TEMPLATE.read_text()).save_pretrained(checkpoint)
    processor = AutoProcessor.from_pretrained(checkpoint)
    assert probe_tool_rendering(lambda m, t: processor.apply_chat_template([_to_transformers(x) for x in m], tools=t, tokenize=False), str(checkpoint)) == "chat_template"


def test_a_template_with_neither_tools_nor_a_system_role_is_refused(tmp_path):
    checkpoint = tmp_path / "gemma_like"
    tiny_processor(chat_template=gemma_chat_template).save_pretrained(checkpoint)
    with pytest.raises(ToolTemplateUnsupported, match=rf"checkpoint {checkpoint}: its chat template renders no tools .* cannot carry them in a system message .*System role not supported"):
        TransformersEndpoint(checkpoint)

    session = EvaluationSession(Settings(policy="tool_agent", llm_backend="transformers", model=str(checkpoint), output_dir=tmp_path / "runs"))
    with pytest.raises(SettingsError, match=rf"model={checkpoint}: .*renders no tools"):
        session.endpoint()


def test_the_template_file_marks_assistant_replies_for_assistant_only_loss():
    """Trained with the file as its chat template, a Qwen2.5-VL learns its calls and answers and
    nothing else: the assistant-token mask covers exactly the replies (text, calls, end of turn)."""
    tokenizer = tiny_processor(family="qwen2_5_vl").tokenizer
    template = TOOLS_TEMPLATE.read_text()
    assert has_generation_markers(template)
    call = {"id": "call_0", "type": "function", "function": {"name": "estimate_depth", "arguments": '{"image": 0}'}}
    chat = [
        {"role": "system", "content": "You answer spatial questions."},
        {"role": "user", "content": "How far is the chair?"},
        {"role": "assistant", "content": "Depth first.", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_0", "content": '{"depth_m":[2.0]}'},
        {"role": "assistant", "content": "2.0"},
    ]
    encoded = tokenizer.apply_chat_template(chat, tools=SCHEMAS, chat_template=template, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ids, mask = encoded["input_ids"], encoded["assistant_masks"]
    learned = tokenizer.decode([token for token, keep in zip(ids, mask) if keep])
    assert learned == 'Depth first.\n<tool_call>\n{"name": "estimate_depth", "arguments": {"image": 0}}\n</tool_call><|im_end|>\n2.0<|im_end|>\n'
    assert tokenizer.decode(ids) == tokenizer.apply_chat_template(chat, tools=SCHEMAS, chat_template=template, tokenize=False)
