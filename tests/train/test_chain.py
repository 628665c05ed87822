"""The whole chain on CPU: program-policy trajectories → export → SFT → GRPO → evaluate.

A tiny random Qwen3-VL built from a config is fine-tuned for 2 SFT steps and 2 GRPO steps (with
tool rollouts on the session's Triton experts) by the entry points' `main` with the shipped
tiny YAML configs (in-process: a launcher only adds `python -m`, and a second torch import would
double the test's time); the GRPO checkpoint then answers spatial_synth questions through the
`llm` policy over HTTP inside the stock lmms-eval CLI. A random model scores ~0: the run must
complete and record results, not be accurate.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from safetensors.torch import load_file

from skill3d_eval.trajectory_log import read_trajectories
from skill3d_eval.evaluate import run_lmms_eval
from skill3d_eval.settings import REPO_ROOT, Settings
from skill3d_eval.tools import ToolSet, default_toolset
from skill3d_eval.sft_export import export_trajectories
from skill3d_eval.testing.tiny_qwen_vl import build_tiny_qwen_vl
from tests.train.checkpoint_endpoint import CheckpointEndpoint
from train.grpo import main as grpo_main
from train.sft import main as sft_main

pytestmark = pytest.mark.integration

OFFERED = ("locate_objects", "measure_distance")


def run_entry_point(main, config: str, *args: str) -> None:
    assert main(["--config", str(REPO_ROOT / "train" / "configs" / config), *args]) == 0


def changed_tensors(before: Path, after: Path) -> int:
    old, new = load_file(before / "model.safetensors"), load_file(after / "model.safetensors")
    assert old.keys() == new.keys()
    return sum(not old[name].equal(new[name]) for name in old)


def assert_trained(checkpoint: Path, previous: Path) -> dict:
    result = json.loads((checkpoint / "train_result.json").read_text())
    assert result["global_step"] == 2
    losses = [entry["loss"] for entry in result["log_history"] if "loss" in entry]
    assert len(losses) == 2 and all(math.isfinite(loss) for loss in losses)
    assert {"config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"} <= {p.name for p in checkpoint.iterdir()}
    assert changed_tensors(previous, checkpoint) > 0, "training left every parameter unchanged"
    return result


def test_export_sft_grpo_evaluate_on_cpu(program_run, synth_root, synth_triton, tmp_path):
    data = tmp_path / "export"
    card = export_trajectories([program_run], synth_root, data, tools=ToolSet([default_toolset().tools[name] for name in OFFERED]))
    assert card.splits["train"].examples >= 4
    tiny = build_tiny_qwen_vl(tmp_path / "tiny")

    sft = tmp_path / "sft"
    run_entry_point(sft_main, "sft_tiny.yaml", "--model", str(tiny), "--data", str(data), "--output-dir", str(sft))
    assert_trained(sft, tiny)

    grpo = tmp_path / "grpo"
    run_entry_point(grpo_main, "grpo_tiny.yaml", "--model", str(sft), "--data", str(data), "--output-dir", str(grpo), "--triton-url", synth_triton.grpc_url)
    result = assert_trained(grpo, sft)
    steps = [entry for entry in result["log_history"] if "loss" in entry]
    assert all("rewards/answer_reward/mean" in entry and "tools/call_frequency" in entry for entry in steps)
    assert any(entry["grad_norm"] > 0 for entry in steps)

    with CheckpointEndpoint(grpo) as endpoint:
        results_file = run_lmms_eval(
            ["spatial_synth"],
            {"policy": "llm", "base_url": endpoint.base_url, "api_key": "local", "model": "grpo-tiny", "triton_url": synth_triton.grpc_url,
             "output_dir": tmp_path / "runs", "run_name": "grpo", "max_turns": 2, "concurrency": 1},
            tmp_path / "out",
            limit=2,
        )
        requests = list(endpoint.requests)
    scores = json.loads(results_file.read_text())["results"]["spatial_synth"]
    assert 0.0 <= scores["spatial_synth_overall,none"] <= 1.0
    trajectories = read_trajectories(tmp_path / "runs" / "grpo" / "trajectories.jsonl")
    assert len(trajectories) == 2 and all(t.stop_reason != "error" and t.policy == "llm" for t in trajectories)
    preflight, *asked = requests  # this endpoint has no /models route: the pre-flight asks for one token
    assert preflight["max_tokens"] == 1 and "tools" not in preflight
    assert asked and all(request["tools"] and request["messages"][0]["role"] == "system" for request in asked)
    assert sum(block["type"] == "image_url" for block in asked[0]["messages"][1]["content"]) == Settings().num_frames
