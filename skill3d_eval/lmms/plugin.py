"""lmms-eval plugin entry point (`[project.entry-points."lmms_eval.models"]`).

lmms-eval calls `manifests()` while importing `lmms_eval.models`, which its CLI does before it
builds the TaskManager. That import is our one hook into an `lmms-eval` process, so it does
three things besides returning the manifest:
- our `tasks/` directory joins every TaskManager's search path (`task_search_path`):
  `lmms-eval --tasks spatial_synth` works without `--include_path`;
- `skill3d` joins the model table `lmms-eval models` prints. That command lists lmms-eval's
  static `AVAILABLE_*_MODELS` dicts, not the registry our manifest goes into; adding to the
  dict is what lmms-eval's own (deprecated) `LMMS_EVAL_PLUGINS` loader does for a plugin model;
- the run's exit status and end-of-run report are wired in (`exit_status`): lmms-eval would
  exit 0 whatever happened.
"""

from __future__ import annotations

from lmms_eval.models.registry_v2 import ModelManifest

from skill3d_eval.lmms import exit_status, task_search_path

MODEL_ID = "skill3d"
CLASS_PATH = "skill3d_eval.lmms.model.Skill3D"


def manifests() -> list[ModelManifest]:
    task_search_path.watch()
    exit_status.install()
    list_in_the_model_table()
    return [ModelManifest(model_id=MODEL_ID, simple_class_path=CLASS_PATH)]


def list_in_the_model_table() -> None:
    # `lmms_eval.models` is still being imported (it is calling us), its model dicts already exist.
    import lmms_eval.models as lmms_models

    lmms_models.AVAILABLE_SIMPLE_MODELS.setdefault(MODEL_ID, CLASS_PATH)
