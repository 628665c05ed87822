"""vsi_bench's hub path: the YAML asks lmms-eval for the videos as its `vsibench` does, and the
guard around that download fails early offline, completes a partial unpack, refuses missing videos.

A real hub is not served here: the hub cache is written as huggingface_hub lays it out
(`datasets--<org>--<name>/refs/main` + `snapshots/<commit>/`), which is all an offline run reads."""

from __future__ import annotations

import zipfile

import pytest
import yaml

from skill3d_eval.data import DataError
from skill3d_eval.data.local_task import TaskYamlLoader
from skill3d_eval.data.vsi_videos import VIDEO_CACHE, HubVideos, hub_video_root, relative_video
from skill3d_eval.settings import TASKS_DIR

ARCHIVES = ("arkitscenes.zip", "scannet.zip", "scannetpp.zip")
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_the_yaml_fetches_questions_and_videos_the_way_lmms_eval_vsibench_does():
    config = yaml.load((TASKS_DIR / "vsi_bench" / "vsi_bench.yaml").read_text(), Loader=TaskYamlLoader)
    raw = (TASKS_DIR / "vsi_bench" / "vsi_bench.yaml").read_text()
    assert config["dataset_path"] == "nyu-visionx/VSI-Bench" and config["dataset_name"] == "full" and config["test_split"] == "test"
    assert config["dataset_kwargs"] == {"video": True, "cache_dir": VIDEO_CACHE, "video_archives": list(ARCHIVES)}
    assert "class: !function skill3d_eval.data.vsi_task.VsiBenchTask" in raw
    # lmms-eval's own vsibench unpacks into the same cache: one copy of the videos serves both.
    from importlib.metadata import distribution

    builtin = (distribution("lmms-eval").locate_file("lmms_eval/tasks/vsibench/vsibench.yaml")).read_text()
    assert yaml.safe_load(builtin)["dataset_kwargs"]["cache_dir"] == VIDEO_CACHE


def test_the_default_video_root_is_where_lmms_eval_unpacks(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert hub_video_root() == tmp_path / "hf" / "vsibench"
    assert relative_video({"dataset": "scannet", "scene_name": "scene0011_00"}) == "scannet/scene0011_00.mp4"
    assert relative_video({"video": "VSI-Bench/x.mp4", "dataset": "scannet", "scene_name": "s"}) == "VSI-Bench/x.mp4"


def _hub_cache(tmp_path, archives=ARCHIVES, members=("arkitscenes/1.mp4", "scannet/scene0011_00.mp4")):
    repo = tmp_path / "hub" / "datasets--nyu-visionx--VSI-Bench"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    for name in archives:
        with zipfile.ZipFile(snapshot / name, "w") as handle:
            for member in members:
                if member.startswith(name.removesuffix(".zip") + "/"):
                    handle.writestr(member, member.encode() * 50)
    return tmp_path / "hub"


def _videos(tmp_path, *, offline, hub_cache):
    return HubVideos("nyu-visionx/VSI-Bench", tmp_path / "vsibench", ARCHIVES, offline=offline, hub_cache=hub_cache)


def test_offline_without_cache_fails_naming_what_is_missing_and_how_to_get_it(tmp_path):
    (tmp_path / "hub").mkdir()
    with pytest.raises(DataError) as raised:
        _videos(tmp_path, offline=True, hub_cache=tmp_path / "hub").check_obtainable()
    message = str(raised.value)
    assert "HF_HUB_OFFLINE=1" in message and str(tmp_path / "vsibench") in message
    assert "arkitscenes.zip, scannet.zip, scannetpp.zip not in the hub cache" in message
    assert "huggingface-cli download --repo-type dataset nyu-visionx/VSI-Bench" in message and "skill3d-eval data layout" in message
    # One archive short of the three is as missing.
    with pytest.raises(DataError, match="scannetpp.zip not in the hub cache"):
        _videos(tmp_path, offline=True, hub_cache=_hub_cache(tmp_path / "partial", archives=ARCHIVES[:2])).check_obtainable()


def test_offline_with_the_archives_cached_or_the_videos_unpacked_is_fine(tmp_path):
    _videos(tmp_path, offline=True, hub_cache=_hub_cache(tmp_path)).check_obtainable()
    (tmp_path / "empty").mkdir()
    (tmp_path / "vsibench").mkdir()
    _videos(tmp_path, offline=True, hub_cache=tmp_path / "empty").check_obtainable()
    _videos(tmp_path, offline=False, hub_cache=tmp_path / "empty").check_obtainable()  # online: lmms-eval downloads


def test_a_partial_unpack_is_completed_from_the_cached_archives_and_rows_are_checked(tmp_path):
    videos = _videos(tmp_path, offline=True, hub_cache=_hub_cache(tmp_path))
    (tmp_path / "vsibench" / "arkitscenes").mkdir(parents=True)
    (tmp_path / "vsibench" / "arkitscenes" / "1.mp4").write_bytes(b"short")  # lmms-eval's unzip killed mid-file
    report = videos.complete()
    assert sorted(report.extracted) == ["arkitscenes/1.mp4", "scannet/scene0011_00.mp4"]
    rows = [{"dataset": "arkitscenes", "scene_name": "1"}, {"dataset": "scannet", "scene_name": "scene0011_00"}] * 3
    assert videos.check_rows(rows) == 2
    with pytest.raises(DataError, match=r"1 of the 3 videos its questions need are missing .*scannetpp/gone.mp4"):
        videos.check_rows([*rows, {"dataset": "scannetpp", "scene_name": "gone"}])
    assert _videos(tmp_path, offline=True, hub_cache=tmp_path / "nothing").complete() is None
