"""Media paths from rows resolve inside their root, symlinks included, and nothing outside is touched."""

from __future__ import annotations

import os
import sys

import pytest

from skill3d_eval.media.errors import MediaError
from skill3d_eval.media.paths import confined

_WATCHED: list[str] = []
_OPENED: list[str] = []


def _audit(event: str, args: tuple) -> None:
    if _WATCHED and event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.fsdecode(args[0])
        if any(path.startswith(prefix) for prefix in _WATCHED):
            _OPENED.append(path)


sys.addaudithook(_audit)


@pytest.fixture
def tree(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "scans" / "deep").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.mp4").write_bytes(b"secret")
    (root / "scans" / "a.mp4").write_bytes(b"ok")
    (root / "scans" / "inside_link.mp4").symlink_to(root / "scans" / "a.mp4")
    (root / "scans" / "relative_inside.mp4").symlink_to("deep/../a.mp4")
    (root / "scans" / "abs_out.mp4").symlink_to(outside / "secret.mp4")
    (root / "scans" / "rel_out.mp4").symlink_to("../../outside/secret.mp4")
    (root / "dir_out").symlink_to(outside)
    (root / "loop").symlink_to("loop")
    return root, outside


def test_paths_inside_the_root_resolve_through_links(tree):
    root, _ = tree
    real = (root / "scans" / "a.mp4").resolve()
    for relative in ("scans/a.mp4", "scans/./deep/../a.mp4", "scans/inside_link.mp4", "scans/relative_inside.mp4"):
        assert confined(root, relative, where="row 1") == real
    assert confined(root, "scans/missing.mp4", where="row 1") == root.resolve() / "scans" / "missing.mp4"


@pytest.mark.parametrize(
    ("relative", "fragment"),
    [
        ("../outside/secret.mp4", "leaves the media root"),
        ("scans/../../outside/secret.mp4", "leaves the media root"),
        ("scans/abs_out.mp4", "symbolic link out of the media root"),
        ("scans/rel_out.mp4", "leaves the media root"),
        ("dir_out/secret.mp4", "symbolic link out of the media root"),
        ("loop/x.mp4", "too many symbolic links"),
        ("", "empty"),
    ],
)
def test_paths_leaving_the_root_are_refused_naming_row_and_path(tree, relative, fragment):
    root, _ = tree
    with pytest.raises(MediaError, match=fragment) as raised:
        confined(root, relative, where="vsi_bench row 7")
    assert "vsi_bench row 7" in str(raised.value) and repr(relative) in str(raised.value)


def test_absolute_paths_are_refused_even_inside_the_root(tree):
    root, outside = tree
    for path in (outside / "secret.mp4", root / "scans" / "a.mp4"):
        with pytest.raises(MediaError, match="absolute"):
            confined(root, str(path), where="row 2")


def test_nothing_outside_the_root_is_opened_or_listed(tree):
    root, outside = tree
    _WATCHED[:] = [str(outside), str(outside.resolve())]
    try:
        for relative in ("../outside/secret.mp4", "scans/abs_out.mp4", "scans/rel_out.mp4", "dir_out/secret.mp4", str(outside / "secret.mp4")):
            with pytest.raises(MediaError):
                confined(root, relative, where="row")
    finally:
        _WATCHED.clear()
    assert _OPENED == []
