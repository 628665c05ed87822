"""`skill3d-eval synth generate` difficulty knobs reach the generator and the written data."""

import json

from skill3d_eval.cli import main
from skill3d_eval.synth import check_dataset, load_scene


def test_knobs_shape_the_generated_scenes(tmp_path, capsys):
    out = tmp_path / "knobs"
    argv = ["synth", "generate", "--out", str(out), "--scenes", "3", "--seed", "2", "--frames", "5", "--width", "80",
            "--height", "64", "--min-objects", "3", "--max-objects", "4", "--min-visible-pixels", "20", "--min-views", "2"]
    assert main(argv) == 0
    assert "spatial_synth written to" in capsys.readouterr().out
    meta = json.loads((out / "meta.json").read_text())
    assert {k: meta["args"][k] for k in ("frames", "width", "height", "min_objects", "max_objects", "min_visible_pixels", "min_views_per_object")} == {
        "frames": 5, "width": 80, "height": 64, "min_objects": 3, "max_objects": 4, "min_visible_pixels": 20, "min_views_per_object": 2,
    }
    for name in meta["train_scenes"] + meta["test_scenes"]:
        scene = load_scene(out / "scenes" / f"{name}.json")
        assert 3 <= len(scene.objects) <= 4 and len(scene.cameras) == 5 and scene.image_size == (80, 64)
    assert check_dataset(out) == []
