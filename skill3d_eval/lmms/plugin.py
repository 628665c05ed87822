"""lmms-eval plugin entry point (`[project.entry-points."lmms_eval.models"]`).

lmms-eval calls `manifests()` while importing its model registry, which happens before its
CLI builds the TaskManager. lmms-eval has no supported way for a package to contribute task
YAMLs, so this is also where our `tasks/` directory is added to every TaskManager's search
path: `lmms-eval --tasks spatial_synth` then works without `--include_path`. It is also where
the run's exit status is wired in (`exit_status`): lmms-eval would exit 0 whatever happened.
"""

from __future__ import annotations

from lmms_eval.models.registry_v2 import ModelManifest

from skill3d_eval.lmms import exit_status
from skill3d_eval.settings import TASKS_DIR


def manifests() -> list[ModelManifest]:
    include_our_tasks()
    exit_status.install()
    return [ModelManifest(model_id="skill3d", simple_class_path="skill3d_eval.lmms.model.Skill3D")]


def include_our_tasks() -> None:
    from lmms_eval.tasks import TaskManager

    original = TaskManager.initialize_tasks
    if getattr(original, "_skill3d_tasks", False):
        return

    def initialize_tasks(self, include_path=None, include_defaults=True):
        paths = [include_path] if isinstance(include_path, str) else list(include_path or [])
        if str(TASKS_DIR) not in paths:
            paths.append(str(TASKS_DIR))
        return original(self, include_path=paths, include_defaults=include_defaults)

    initialize_tasks._skill3d_tasks = True
    TaskManager.initialize_tasks = initialize_tasks
