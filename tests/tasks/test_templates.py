"""Task templates (`tasks/_templates/`): included, never indexed as tasks, and each task's metric
list covers exactly what its `process_results` emits (lmms-eval fails on an emitted metric it has
no aggregation for)."""

from __future__ import annotations

import importlib.util

import pytest

from skill3d_eval.scoring.vsibench import result_metrics
from skill3d_eval.settings import TASKS_DIR

TEMPLATE = TASKS_DIR / "_templates" / "vsi_bench_schema.yaml"
VSI_TASKS = {"vsi_bench": "vsi_bench_overall", "spatial_synth": "spatial_synth_overall"}


def test_the_template_is_no_task():
    from lmms_eval.models import get_model  # noqa: F401  (loads the entry points, as the CLI does)
    from lmms_eval.tasks import TaskManager

    manager = TaskManager("ERROR")
    assert TEMPLATE.is_file()
    assert not [name for name, entry in manager.task_index.items() if str(entry.get("yaml_path")) == str(TEMPLATE)]
    assert {"vsi_bench", "spatial_synth"} <= set(manager.task_index)


@pytest.mark.parametrize("task", sorted(VSI_TASKS))
def test_vsi_tasks_include_the_shared_metric_list_and_emit_only_their_overall(task):
    from lmms_eval.utils import load_yaml_config

    config = load_yaml_config(str(TASKS_DIR / task / f"{task}.yaml"))
    assert config["task"] == task and config["output_type"] == "generate_until"
    assert config["generation_kwargs"]["max_new_tokens"] == 16
    listed = {entry["metric"]: entry for entry in config["metric_list"]}
    assert all(callable(entry["aggregation"]) and entry["higher_is_better"] for entry in listed.values())
    spec = importlib.util.spec_from_file_location(f"{task}_template_test_utils", TASKS_DIR / task / "utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    emitted = utils.process_results({"id": 0, "question_type": "object_counting", "question": "How many chairs?", "ground_truth": "3", "options": None}, ["3"])
    assert set(emitted) == set(result_metrics(VSI_TASKS[task])) and set(emitted) <= set(listed)
    assert not set(emitted) & (set(VSI_TASKS.values()) - {VSI_TASKS[task]}), "a task emits only its own overall"
    items = [emitted[VSI_TASKS[task]]]
    assert listed[VSI_TASKS[task]]["aggregation"](items) == 1.0
