"""Strict image decoding: truncated or corrupt files are errors whatever PIL's global says, and an
oversized image is refused from its header, before its pixels are allocated."""

from __future__ import annotations

import io
import resource

import numpy as np
import pytest
from PIL import Image, ImageFile

from skill3d_eval.media import limits
from skill3d_eval.media.errors import MediaError, MediaLimitError
from skill3d_eval.media.images import decode_image, load_image, load_images


def _encoded(fmt: str, size=(64, 48)) -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def lenient_pil(monkeypatch):
    """As lmms-eval leaves PIL once it is imported: truncated files would load padded with grey."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP"])
def test_complete_images_decode_and_truncated_ones_are_errors(fmt):
    data = _encoded(fmt)
    assert decode_image(data, where="row 1 image").size == (64, 48)
    for cut in (len(data) // 2, len(data) - 20):
        with pytest.raises(MediaError, match="row 1 image"):
            decode_image(data[:cut], where="row 1 image")


def test_a_png_with_a_corrupted_chunk_is_an_error():
    data = bytearray(_encoded("PNG"))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(MediaError, match="corrupt"):
        decode_image(bytes(data), where="row 3")


def test_garbage_is_an_error_naming_the_row():
    with pytest.raises(MediaError, match="row 4"):
        decode_image(b"not an image at all", where="row 4")


def test_an_oversized_image_is_refused_from_its_header_without_allocating_it():
    buffer = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buffer, "PNG")  # 144 Mpx; decoded as RGB it would take 432 MB
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with limits.applied(limits.MediaLimits(max_frame_pixels=4096 * 4096)):
        with pytest.raises(MediaLimitError, match="12000x12000 exceeds max_frame_pixels"):
            decode_image(buffer.getvalue(), where="row 5")
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024 < 100e6
    with limits.applied(limits.MediaLimits(max_frame_pixels=40 * 40)), pytest.raises(MediaLimitError):
        load_image(Image.new("RGB", (64, 48)), where="row 6")


def test_the_number_of_images_is_checked_before_any_is_decoded():
    with limits.applied(limits.MediaLimits(max_frames=2)), pytest.raises(MediaLimitError, match="3 images exceed max_frames=2"):
        load_images([b"never decoded"] * 3, where="row 7 images")


def test_paths_need_a_root_and_stay_inside_it(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "ok.png").write_bytes(_encoded("PNG"))
    (tmp_path / "secret.png").write_bytes(_encoded("PNG"))
    root = tmp_path / "images"
    assert load_image("ok.png", where="row 8", root=root).size == (64, 48)
    assert load_image({"bytes": None, "path": "ok.png"}, where="row 8", root=root).size == (64, 48)
    with pytest.raises(MediaError, match="no image_root"):
        load_image("ok.png", where="row 8")
    with pytest.raises(MediaError, match="leaves the media root"):
        load_image({"bytes": None, "path": "../secret.png"}, where="row 9", root=root)
    with pytest.raises(MediaError, match="does not exist"):
        load_image("missing.png", where="row 10", root=root)
