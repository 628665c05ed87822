"""spatial_synth: procedurally generated indoor scenes with exact 3D truth, as a VSI-Bench-style
dataset (parquet splits by scene, scene JSON, and per-frame truth for the oracle experts).

Write one with `skill3d_eval.synth.generate.generate(out_dir, ...)`; the function is not
re-exported here because its name would shadow the `generate` module.
"""

from skill3d_eval.synth.consistency import check_dataset
from skill3d_eval.synth.generate import GenerationSummary
from skill3d_eval.synth.scene import CameraView, Room, Scene, SceneObject, load_scene

__all__ = ["CameraView", "GenerationSummary", "Room", "Scene", "SceneObject", "check_dataset", "load_scene"]
