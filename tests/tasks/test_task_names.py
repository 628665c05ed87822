"""Our task names must not collide with lmms-eval's built-in ones: a built-in name wins silently."""

from __future__ import annotations

from pathlib import Path

import yaml

from skill3d_eval.data.local_task import TaskYamlLoader, task_yaml
from skill3d_eval.settings import TASKS_DIR

OUR_TASKS = (
    "vsi_bench", "blink_multiview", "cvbench_3d", "mmsibench", "mmsibench_pr",
    "spatial_synth", "spatial_synth_cv3d", "spatial_synth_blink", "spatial_synth_mmsi",
)


def _builtin_names() -> set[str]:
    """Every task, group and tag name lmms-eval ships, read from its YAMLs."""
    import lmms_eval.tasks

    names = set()
    for path in Path(lmms_eval.tasks.__file__).parent.rglob("*.yaml"):
        try:
            config = yaml.load(path.read_text(), Loader=TaskYamlLoader)
        except yaml.YAMLError:
            continue
        if isinstance(config, dict):
            for key in ("task", "group", "tag"):
                value = config.get(key)
                names.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
    return names


def test_no_task_of_ours_reuses_a_builtin_name():
    builtin = _builtin_names()
    assert {"vsibench", "cv_bench_3d", "mmsi_bench", "blink_multi_view_reasoning"} <= builtin  # the names we avoid
    ours = {task_yaml(task)[1]["task"] for task in OUR_TASKS}
    assert not ours & builtin, f"{ours & builtin} would lose silently to lmms-eval's built-in tasks"


def test_every_task_of_ours_is_indexed_from_our_directory():
    from lmms_eval.models import get_model  # noqa: F401  (loads the entry points, as the CLI does)
    from lmms_eval.tasks import TaskManager

    manager = TaskManager("ERROR")
    for task in OUR_TASKS:
        assert manager.task_index[task]["yaml_path"].startswith(str(TASKS_DIR)), task
