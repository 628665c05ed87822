"""Fixture benchmarks, override YAMLs pointing our tasks at them, and a scripted-LLM CLI run.

The run is the real thing end to end: the stock `lmms-eval` CLI (subprocess), our task YAMLs
via `--include_path` overrides, the `skill3d` model with the `llm` policy talking over HTTP to
a scripted OpenAI-compatible server that replies a planned answer per question. No tool is
called, so the Triton URL is never dialled.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from skill3d_eval.data import write_local_task
from skill3d_eval.evaluate import lmms_eval_command
from tests.fixtures.build import build_all
from tests.support.scripted_llm import ScriptedLLM, answer


@pytest.fixture(scope="session")
def fixture_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("benchmarks")


@pytest.fixture(scope="session")
def overrides(fixture_root: Path) -> Path:
    """An include-path directory overriding each of our real-benchmark tasks with its fixture."""
    sources = build_all(fixture_root / "data")
    out = fixture_root / "overrides"
    write_local_task("vsi_bench", sources["vsi_bench"] / "test.parquet", out, video_root=sources["vsi_bench"] / "videos")
    write_local_task("cvbench_3d", sources["cvbench_3d"], out)
    write_local_task("blink_multiview", sources["blink_multiview"], out)
    write_local_task("mmsibench", sources["mmsibench"] / "test.parquet", out)
    write_local_task("mmsibench_pr", sources["mmsibench"] / "test.parquet", out)
    return out


def planned_replies(replies: Mapping[str, str]):
    """A script answering each question with the reply planned for the question text it contains."""

    def script(messages):
        text = messages[1]["content"][-1]["text"]
        matches = [reply for question, reply in replies.items() if question in text]
        if len(matches) != 1:
            raise AssertionError(f"{len(matches)} planned replies match the prompt {text!r}")
        return answer(matches[0])

    return script


def run_cli(
    tasks: list[str], replies: Mapping[str, str], include_path: Path, tmp_path: Path, *, limit: int | None = None
) -> tuple[dict, list[dict]]:
    """Results of one lmms-eval CLI run and the chat requests the endpoint received; fails with
    the log's tail when no results were written."""
    output = tmp_path / "out"
    with ScriptedLLM(planned_replies(replies)) as llm:
        model_args = {
            "policy": "direct",  # scoring is under test, not tools: no experts are started
            "base_url": llm.base_url,
            "api_key": "test-key",
            "model": "scripted",
            "output_dir": tmp_path / "runs",
            "run_name": "fixture",
            "concurrency": 4,
        }
        command = lmms_eval_command(tasks, model_args, output, limit=limit, extra=["--include_path", str(include_path)])
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
        completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
        requests = list(llm.requests)
    produced = sorted(output.rglob("*_results.json"))
    log = completed.stdout[-3000:] + completed.stderr[-5000:]
    assert completed.returncode == 0 and produced, f"lmms-eval wrote no results (exit {completed.returncode}):\n{log}"
    results = json.loads(produced[-1].read_text())
    assert set(tasks) <= set(results["results"]), f"results lack {set(tasks) - set(results['results'])}:\n{log}"
    return results, requests


def images_sent(request: dict) -> int:
    return sum(part.get("type") == "image_url" for part in request["messages"][1]["content"])
