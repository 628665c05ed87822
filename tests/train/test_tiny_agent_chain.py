"""The pieces the tiny agent (benchmarks/tiny_agent.py) adds to the chain, at test size.

SFT on an exported multi-turn trajectory (tool call -> observation -> answer) of the program
policy, restricted to two tools, on a tiny Qwen2.5-VL that carries our tools template: the
collator's batch must hold the tool schemas and the call, with the loss on the call and the
answer only; the checkpoint must load with `from_pretrained` and carry a model card naming its
training data by hash. Settings offer the model the same tools it was trained with, and the tiny
agent's template prompts SFT / evaluation (declared schemas) and GRPO rollouts (schemas TRL derives
from the tool environment's methods) with the same short text.
(That the template itself renders the schemas is `tests/llm/test_tool_prompt.py`.)
"""

from __future__ import annotations

import json

import pytest
from transformers import AutoModelForImageTextToText, AutoProcessor

from skill3d_eval.llm.transformers_backend import TransformersEndpoint
from skill3d_eval.settings import REPO_ROOT, Settings, SettingsError
from skill3d_eval.sft_export import export_trajectories
from skill3d_eval.testing.tiny_qwen_vl import build_tiny_qwen_vl, tiny_processor
from skill3d_eval.tools import offered_tools
from train.config import load_config
from train.environment import environment_factory
from train.model_card import ModelCard, add_evaluation, file_sha256
from train.sft import build_trainer
from train.sft import main as sft_main

OFFERED = ("locate_objects", "measure_distance")
TOOLS_TEMPLATE = REPO_ROOT / "train" / "templates" / "qwen2_5_vl_tools.jinja"
TINY_AGENT_TEMPLATE = REPO_ROOT / "train" / "templates" / "qwen3_vl_tiny_agent.jinja"


@pytest.fixture(scope="module")
def export(program_run, synth_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny_agent") / "export"
    card = export_trajectories([program_run], synth_root, out, tools=offered_tools(list(OFFERED)))
    assert card.splits["train"].examples >= 2
    return out


@pytest.fixture(scope="module")
def qwen2_5_vl(export, tmp_path_factory):
    corpus = [line for line in (export / "trl" / "train.jsonl").read_text().splitlines()]
    return build_tiny_qwen_vl(tmp_path_factory.mktemp("tiny") / "qwen2_5_vl", family="qwen2_5_vl", chat_template=TOOLS_TEMPLATE.read_text(), corpus=corpus, hidden_size=64)


def test_sft_batches_hold_the_offered_schemas_and_learn_only_the_calls_and_answers(export, qwen2_5_vl, tmp_path):
    config = load_config(REPO_ROOT / "train" / "configs" / "sft_tiny_agent.yaml").model_copy(update={"model": str(qwen2_5_vl), "data": export, "output_dir": tmp_path})
    trainer = build_trainer(config)
    row = json.loads((export / "trl" / "train.jsonl").read_text().splitlines()[0])
    batch = trainer.data_collator([trainer.train_dataset[0]])
    tokenizer = trainer.processing_class.tokenizer
    text = tokenizer.decode(batch["input_ids"][0])
    for name in OFFERED:
        assert f'"name": "{name}"' in text  # the schemas, as the Hermes block writes them
    assert "estimate_depth" not in text  # only the offered tools
    learned = tokenizer.decode(batch["input_ids"][0][batch["labels"][0] != -100])
    call = row["messages"][2]["tool_calls"][0]["function"]
    assert f'"name": "{call["name"]}"' in learned and row["messages"][-1]["content"][0]["text"] in learned
    observation = row["messages"][3]["content"][0]["text"]
    assert observation in text and observation not in learned


def test_the_checkpoint_loads_and_its_card_names_the_training_data(export, qwen2_5_vl, tmp_path):
    out = tmp_path / "sft"
    assert sft_main(["--config", str(REPO_ROOT / "train" / "configs" / "sft_tiny_agent.yaml"), "--model", str(qwen2_5_vl),
                     "--data", str(export), "--output-dir", str(out), "--set", "max_steps=2", "--set", "per_device_train_batch_size=2", "--set", "logging_steps=1"]) == 0
    AutoModelForImageTextToText.from_pretrained(out)
    assert "tools" in AutoProcessor.from_pretrained(out).chat_template  # the tools template travels with the weights
    card = ModelCard.read(out)
    assert card.stage == "sft" and card.base_model == str(qwen2_5_vl)
    assert card.data.train_sha256 == file_sha256(export / "trl" / "train.jsonl")
    assert card.data.data_card_sha256 == file_sha256(export / "data_card.json")
    assert card.training["global_step"] == 2 and "last_loss" in card.training
    add_evaluation(out, {"test_score": 61.5})
    readme = (out / "README.md").read_text()
    assert card.data.train_sha256 in readme and "evaluation/test_score | 61.5" in readme


def test_settings_offer_the_trained_tools_in_their_order():
    settings = Settings.from_model_args({"policy": "tool_agent", "tools": "measure_distance|locate_objects"})
    assert settings.tools == ("measure_distance", "locate_objects")
    assert list(offered_tools(settings.tools).tools) == ["measure_distance", "locate_objects"]
    assert Settings().fingerprint() != settings.model_copy(update={"policy": "llm"}).fingerprint()
    with pytest.raises(SettingsError, match="count_things"):
        Settings.from_model_args({"tools": "locate_objects|count_things"})


def test_the_tiny_agent_template_prompts_declared_and_rollout_tools_alike_in_a_short_system_turn(tmp_path):
    tools = offered_tools(list(OFFERED))
    environment = environment_factory(None, tools)()
    messages = [{"role": "system", "content": "Answer."}, {"role": "user", "content": "How many chair(s) are in this room?"}]
    processor = tiny_processor(chat_template=TINY_AGENT_TEMPLATE.read_text())

    def render(offered):
        return processor.apply_chat_template(messages, tools=offered, tokenize=False, add_generation_prompt=True)

    declared = render(tools.openai_schemas())
    assert declared == render([getattr(environment, name) for name in OFFERED])
    # the tools, one line each, and nothing else before the question: no instructions, no descriptions
    assert declared.startswith("<|im_start|>system\n<tools>\nlocate_objects(category, geometry, masks)\nmeasure_distance(object_a, object_b, geometry, masks)\n</tools><|im_end|>\n<|im_start|>user\nHow many chair(s)")
    assert "Answer." not in declared and "Count and localise" not in declared
    checkpoint = build_tiny_qwen_vl(tmp_path / "tiny", chat_template=TINY_AGENT_TEMPLATE.read_text())
    # the evaluation backend takes names and arguments as the template rendering tools itself
    assert TransformersEndpoint(checkpoint).tool_rendering == "chat_template"
    tokenizer = AutoProcessor.from_pretrained(checkpoint).tokenizer
    reply = '<tool_call>\n{"name": "measure_distance", "arguments": {"object_a":"table","object_b":"sofa"}}\n</tool_call><|im_end|>'
    parsed = tokenizer.parse_response(reply, prefix="")  # how TRL's rollouts read calls
    assert parsed["tool_calls"][0]["function"] == {"name": "measure_distance", "arguments": {"object_a": "table", "object_b": "sofa"}}


def test_the_tiny_agent_copies_names_as_one_token_it_also_scores(tmp_path):
    """words_apart: the question's "the sofa" and the call's `"sofa"` hold the same token, and with
    tied embeddings that token's output row is its input row, so copying a name is the identity."""
    texts = ["What is the direct distance between the trash can and the sofa (in meters)?", '{"object_a": "trash can", "object_b": "sofa"}']
    checkpoint = build_tiny_qwen_vl(tmp_path / "tiny", chat_template=TINY_AGENT_TEMPLATE.read_text(), corpus=texts * 4, words_apart=True, tied_embeddings=True)
    tokenizer = AutoProcessor.from_pretrained(checkpoint).tokenizer
    question, call = (tokenizer.tokenize(text) for text in texts)
    for word in ("trash", "can", "sofa"):
        assert word in question and word in call
    model = AutoModelForImageTextToText.from_pretrained(checkpoint)
    assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
