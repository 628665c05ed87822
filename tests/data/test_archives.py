"""Archives unpacked completely and idempotently; a partial unpack is completed, a bad archive named."""

from __future__ import annotations

import zipfile

import pytest

from skill3d_eval.data import DataError
from skill3d_eval.data.archives import hub_cache_dir, unpack

CONTENT = {"scannet/a.mp4": b"a" * 5000, "scannet/b.mp4": b"b" * 300, "arkitscenes/c.mp4": b"c" * 10}


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "videos.zip"
    with zipfile.ZipFile(path, "w") as handle:  # stored: byte offsets below fall inside a member
        for name, data in CONTENT.items():
            handle.writestr(name, data)
    return path


def test_unpack_extracts_everything_once(archive, tmp_path):
    root = tmp_path / "root"
    first = unpack([archive], root)
    assert first.members == 3 and sorted(first.extracted) == sorted(CONTENT)
    assert {name: (root / name).read_bytes() for name in CONTENT} == CONTENT
    assert unpack([archive], root).extracted == []  # complete: nothing is written again


def test_a_partial_unpack_is_completed(archive, tmp_path):
    root = tmp_path / "root"
    unpack([archive], root)
    (root / "scannet" / "a.mp4").write_bytes(b"a" * 100)  # cut short, as by a killed unzip
    (root / "arkitscenes" / "c.mp4").unlink()
    report = unpack([archive], root)
    assert sorted(report.extracted) == ["arkitscenes/c.mp4", "scannet/a.mp4"]
    assert {name: (root / name).read_bytes() for name in CONTENT} == CONTENT
    assert not list(root.rglob("*.partial"))


def test_a_corrupt_archive_is_named(archive, tmp_path):
    data = bytearray(archive.read_bytes())
    data[60:90] = b"\0" * 30  # inside scannet/a.mp4's bytes: its CRC no longer matches
    archive.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"videos.zip: unreadable archive \(Bad CRC"):
        unpack([archive], tmp_path / "root")
    # Nothing short or wrong is left under a final name, and no partial file either.
    assert not (tmp_path / "root" / "scannet" / "a.mp4").exists() and not list((tmp_path / "root").rglob("*.partial"))


def test_a_member_leaving_the_destination_is_refused(tmp_path):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as handle:
        handle.writestr("../outside.mp4", b"x")
    with pytest.raises(DataError, match="leaves the media root"):
        unpack([path], tmp_path / "root")
    assert not (tmp_path / "outside.mp4").exists()


def test_the_hub_video_cache_follows_hf_home_as_lmms_eval_resolves_it(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert hub_cache_dir("vsibench") == tmp_path / "hf" / "vsibench"
    assert hub_cache_dir(str(tmp_path / "elsewhere")) == tmp_path / "elsewhere"
