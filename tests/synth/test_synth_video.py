"""The VSI part's videos: deterministic H.264, and every frame a model can sample is an oracle hit."""

from functools import partial

import numpy as np
import pyarrow.parquet as pq
import pytest
from skill3d_experts.oracle_store import OracleStore

from skill3d_eval.data.errors import DataError
from skill3d_eval.lmms.sample import sample_from_request
from skill3d_eval.media.video_sampling import uniform_indices
from skill3d_eval.synth.generate import generate
from skill3d_eval.synth.sampling import SceneParams
from skill3d_eval.synth.video import decode_video, encode_video

FRAMES = 40  # more than the largest sample, so 8, 16 and 32 are three different subsets


@pytest.fixture(scope="module")
def long_videos(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_video") / "data"
    generate(out, scenes=2, seed=4, frames=FRAMES, width=96, height=72, progress=False)
    return out


def _gradient_frames(count: int) -> list[np.ndarray]:
    ramp = np.linspace(0, 255, 64 * 48 * 3).reshape(48, 64, 3)
    return [np.roll(ramp, 3 * i, axis=1).astype(np.uint8) for i in range(count)]


def test_encoding_is_deterministic_and_decodes_to_every_frame(tmp_path):
    frames = _gradient_frames(20)
    encode_video(frames, tmp_path / "a.mp4")
    encode_video(frames, tmp_path / "b.mp4")
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    decoded = decode_video(tmp_path / "a.mp4", 20)
    assert len(decoded) == 20 and all(d.shape == f.shape for d, f in zip(decoded, frames, strict=True))
    assert max(np.abs(d.astype(int) - f).mean() for d, f in zip(decoded, frames, strict=True)) < 4
    with pytest.raises(ValueError, match="decoded 20 frames, expected 21"):
        decode_video(tmp_path / "a.mp4", 21)


def test_odd_frame_sizes_are_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="must be even"):
        SceneParams(width=81, height=64)
    with pytest.raises(ValueError, match=r"odd\.mp4: frames are 63x48"):
        encode_video([np.zeros((48, 63, 3), np.uint8)], tmp_path / "odd.mp4")


@pytest.mark.parametrize("num_frames", [8, 16, 32])
def test_every_frame_the_model_samples_from_a_video_is_an_oracle_hit(long_videos, task_utils, num_frames):
    """Through the model's own path: the task's doc_to_visual hands over the video, the skill3d
    model's sampler picks `num_frames`, and the oracle knows each one as the frame it is."""
    oracle = OracleStore(long_videos / "oracle")
    rows = pq.read_table(long_videos / "data" / "test.parquet").to_pylist()
    visual = partial(task_utils.doc_to_visual, lmms_eval_specific_kwargs={"video_root": str(long_videos)})
    for row in {row["scene_name"]: row for row in rows}.values():
        args = ("question", {}, visual, row["id"], "spatial_synth", "test")
        sample = sample_from_request(args, row, num_frames=num_frames)
        assert len(sample.frames) == num_frames
        truths = [oracle.get(np.asarray(frame)) for frame in sample.frames]
        assert [t.scene for t in truths] == [row["scene_name"]] * num_frames
        assert [t.frame_index for t in truths] == uniform_indices(FRAMES, num_frames).tolist()


def test_a_row_cannot_point_outside_the_dataset_or_at_a_missing_video(long_videos, task_utils):
    row = pq.read_table(long_videos / "data" / "test.parquet").to_pylist()[0]
    kwargs = {"video_root": str(long_videos)}
    with pytest.raises(ValueError, match="leaves the media root"):
        task_utils.doc_to_visual({**row, "video": "../outside.mp4"}, kwargs)
    with pytest.raises(DataError, match=r"videos/synth_9999\.mp4 does not exist .*synth generate"):
        task_utils.doc_to_visual({**row, "video": "videos/synth_9999.mp4"}, kwargs)
