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


def test_json_object_arguments_are_parsed_when_the_settings_are_built():
    settings = Settings.from_model_args({"expert_parameters": '{"depth_scale_error": 0.05}', "expert_headers": '{"Authorization": "Bearer t"}'})
    assert settings.expert_parameters == {"depth_scale_error": "0.05"} and settings.expert_headers == {"Authorization": "Bearer t"}
    for bad, reason in (("{oops", "must be a JSON object"), ("[1]", "got list")):
        with pytest.raises(SettingsError, match=f"expert_headers: .*{reason}"):
            Settings.from_model_args({"expert_headers": bad})


def test_run_info_keeps_secrets_out(tmp_path):
    from skill3d_eval.records import ExpertsInfo
    from skill3d_eval.session import EvaluationSession

    session = EvaluationSession(Settings(policy="program", api_key="sk-secret", expert_headers={"Authorization": "Bearer t"}, output_dir=tmp_path))
    text = session.run_info("r", "f", ExpertsInfo(triton_url="h:1", started_locally=False)).model_dump_json()
    assert "sk-secret" not in text and "Bearer t" not in text and '"policy":"program"' in text


def test_fingerprint_follows_the_library_content_and_the_served_experts_not_paths():
    a, b = Settings(policy="program", library="/a/library.json"), Settings(policy="program", library="/b/copy.json")
    assert a.fingerprint(library_sha256="h1") == b.fingerprint(library_sha256="h1")
    assert a.fingerprint(library_sha256="h1") != a.fingerprint(library_sha256="h2")
    served = {"depth": "1|abc", "segmentation": "1|def"}
    assert a.fingerprint(experts=served) != a.fingerprint(experts={**served, "depth": "1|noisy"})
    assert a.fingerprint() != Settings(policy="program", expert_parameters={"depth_scale_error": "0.1"}).fingerprint()
