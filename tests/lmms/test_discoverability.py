"""A new user finds `skill3d` and our tasks in lmms-eval's own listings, every `--model_args` key
with `skill3d-eval model-args`, and at the end of a run where it went and what failed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from skill3d_eval.evaluate import lmms_eval_command
from skill3d_eval.lmms.task_search_path import PTH_LINE, PTH_NAME
from skill3d_eval.settings import TASKS_DIR, Settings
from tests.support.scripted_llm import ScriptedLLM, http_error

BIN = Path(sys.executable).parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def our_task_names() -> set[str]:
    names = {m.group(1) for path in TASKS_DIR.rglob("*.yaml") for m in re.finditer(r"^task: (\S+)$", path.read_text(), re.MULTILINE)}
    assert {"spatial_synth", "vsi_bench", "cvbench_3d", "blink_multiview", "mmsibench"} <= names
    return names


def cli(*args: str) -> str:
    completed = subprocess.run([*args], capture_output=True, text=True, timeout=300, env=ENV)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def test_lmms_eval_models_lists_skill3d():
    rows = [line.split() for line in cli(str(BIN / "lmms-eval"), "models").splitlines()]
    assert ["skill3d", "simple"] in rows


def test_lmms_eval_tasks_list_lists_every_task_of_ours():
    site_packages = {Path(p) for p in sys.path if p.endswith("site-packages")}
    assert any((p / PTH_NAME).is_file() and (p / PTH_NAME).read_text() == PTH_LINE for p in site_packages), (
        f"{PTH_NAME} is not installed: run `make setup` or `python -m skill3d_eval.lmms.task_search_path`"
    )
    listed = {line.strip() for line in cli(str(BIN / "lmms-eval"), "tasks", "list").splitlines()}
    assert our_task_names() - listed == set()


def test_model_args_lists_every_settings_key_with_type_default_and_description():
    keys = json.loads(cli(str(BIN / "skill3d-eval"), "model-args", "--json"))
    by_name = {key["name"]: key for key in keys}
    assert list(by_name) == list(Settings.model_fields)
    assert [name for name, key in by_name.items() if not key["description"].strip() or not key["type"]] == []
    assert by_name["max_turns"]["type"] == "int >= 1 <= 50" and by_name["max_turns"]["default"] == 6
    assert by_name["policy"]["default"] == "llm" and "program" in by_name["policy"]["type"]
    assert by_name["experts_venv"]["default"] == ".venv-experts"
    text = cli(str(BIN / "skill3d-eval"), "model-args")
    for name, field in Settings.model_fields.items():
        assert f"\n{name}  (" in text and field.description in text


@pytest.mark.integration
def test_a_successful_run_ends_with_its_run_directory(synth_triton, tmp_path):
    command = lmms_eval_command(
        ["spatial_synth"], {"policy": "program", "triton_url": synth_triton.grpc_url, "output_dir": tmp_path / "runs", "run_name": "ok"}, tmp_path / "out", limit=2
    )
    completed = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    tail = completed.stderr.rstrip().splitlines()[-2:]
    assert tail[0] == f"skill3d: run directory: {tmp_path / 'runs' / 'ok'} (trajectories.jsonl, run_info.json)"
    assert tail[1].startswith("skill3d: run finished: 0 of 2 questions failed")


@pytest.mark.integration
def test_a_run_with_failed_questions_names_them_at_the_end(synth_root, tmp_path):
    with ScriptedLLM(lambda messages: http_error(400)) as llm:
        model_args = {
            "policy": "direct", "base_url": llm.base_url, "api_key": "k", "model": "scripted",
            "output_dir": tmp_path / "runs", "run_name": "bad", "max_failed_fraction": 1.0,
        }
        completed = subprocess.run(lmms_eval_command(["spatial_synth"], model_args, tmp_path / "out", limit=3), env=ENV, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    tail = completed.stderr.rstrip().splitlines()[-5:]
    assert tail[0] == f"skill3d: run directory: {tmp_path / 'runs' / 'bad'} (trajectories.jsonl, run_info.json)"
    failed_ids = [re.match(r"skill3d: failed question (\S+): BadRequestError: ", line).group(1) for line in tail[1:4]]
    recorded = [json.loads(line)["sample_id"] for line in (tmp_path / "runs" / "bad" / "trajectories.jsonl").read_text().splitlines()]
    assert sorted(failed_ids) == sorted(set(recorded))
    assert tail[4].startswith("skill3d: run finished: 3 of 3 questions failed") and "BadRequestError x3" in tail[4]
