from importlib.metadata import entry_points

import pytest

from skill3d_eval.settings import TASKS_DIR, Settings, SettingsError


def test_model_is_registered_through_the_entry_point_group():
    (entry,) = [ep for ep in entry_points(group="lmms_eval.models") if ep.name == "skill3d"]
    from lmms_eval.models import get_model

    assert get_model("skill3d").__name__ == "Skill3D"
    assert entry.value == "skill3d_eval.lmms.plugin:manifests"


def test_our_tasks_are_found_without_include_path():
    from lmms_eval.models import get_model  # noqa: F401  (loads the entry points, as the CLI does)
    from lmms_eval.tasks import TaskManager

    manager = TaskManager("ERROR")
    assert "spatial_synth" in manager.all_tasks
    assert manager.task_index["spatial_synth"]["yaml_path"].startswith(str(TASKS_DIR))
    # An explicit include path still works and ours is not listed twice.
    assert "spatial_synth" in TaskManager("ERROR", include_path=str(TASKS_DIR)).all_tasks


def test_model_args_arrive_typed_and_unknown_keys_name_themselves():
    settings = Settings.from_model_args({"policy": "program", "max_turns": 3, "concurrency": "8", "batch_size": "1", "device": None})
    assert settings.policy == "program" and settings.max_turns == 3 and settings.concurrency == 8
    with pytest.raises(SettingsError, match="max_turnz"):
        Settings.from_model_args({"max_turnz": 3})
    with pytest.raises(SettingsError, match="policy"):
        Settings.from_model_args({"policy": "magic"})


def test_fingerprint_ignores_where_output_goes_but_not_what_is_computed():
    base = Settings(policy="program")
    assert base.fingerprint() == Settings(policy="program", output_dir="elsewhere", concurrency=64).fingerprint()
    assert base.fingerprint() != Settings(policy="llm").fingerprint()
