"""The data card (`README.md`) of a generated dataset, rendered from its `meta.json` content
so the two can never disagree."""

from __future__ import annotations

from pathlib import Path

from skill3d_eval.synth.catalogue import CATEGORIES
from skill3d_eval.synth.questions import MIN_PAIR_DISTANCE

_CONVENTIONS = """\
## Conventions

- World frame: metres, z up, floor at z = 0; the room spans x in [0, width], y in [0, depth].
- Objects stand on the floor, each built of its category's parts (a chair: seat, back and four
  legs; a table: top and legs; a bed: headboard, frame, mattress; `skill3d_eval.synth.shapes`)
  inside an axis-aligned bounding box that the parts exactly fill out; `scenes/<scene>.json`
  gives each object's instance id, category, box center and size and `facing` (the axis
  direction its front looks along), the room size, and per frame the camera intrinsics and
  camera-to-world pose. Surfaces carry textures fixed in world coordinates (floor boards,
  grain) and a ceiling light's falloff; these scale brightness only, so hue tells the category.
  Several instances of a category (up to its `max_count`) share a room.
- Cameras are OpenCV pinholes (x right, y down, z forward), fx = fy = 0.8 * width, principal
  point at the image centre ((W-1)/2, (H-1)/2); pixel (row, col) is the ray through u = col,
  v = row.
- `oracle/` holds per-frame truth (z-depth in metres, instance map with 0 = room, labels,
  intrinsics, pose), addressed by a hash of the frame's decoded pixels
  (`skill3d_experts.oracle_store.OracleStore`): the pixels decoded from the video (every frame)
  and the rendered pixels of the PNG frames the frame-question subsets show. The truth is the
  renderer's, for both.
- Every object covers at least {min_visible_pixels} pixels in at least {min_views_per_object} frames.
- `object_counting` asks only about categories present; `object_abs_distance` only about
  categories that occur exactly once, with closest points at least {min_pair_distance} m
  apart; answers are the exact count and, as in VSI-Bench, the distance between the closest
  points of the two objects' surfaces (generator 0.4: between their parts; 0.3: between their
  boxes; centre to centre before), rounded to centimetres.
- The other VSI-Bench types (object size in cm of the longest side, room floor area in m²,
  relative distance between closest surface points, relative direction easy/medium/hard, route
  planning, appearance order) name only categories that occur once and are asked only where
  the answer keeps a margin from every tie or angular boundary; rows list generator v0.1's
  types (counting, distance) first in each split.
- `data/{{cv3d,blink,mmsi}}_{{train,test}}.parquet` hold frame questions in CV-Bench 3D, BLINK
  Multi-view_Reasoning and MMSI-Bench schemas, plus `scene_name` and `frame_indices`. A split
  with no rows cannot be loaded by `datasets`; generate more scenes if one is empty.
"""


def write_card(path: Path, meta: dict) -> None:
    counts = meta["counts"]
    qtypes = sorted({qtype for by_type in counts.values() for qtype in by_type})
    table = ["| split | scenes | " + " | ".join(qtypes) + " | total |", "|---" * (len(qtypes) + 3) + "|"]
    for split, by_type in counts.items():
        cells = [str(by_type[qtype]) for qtype in qtypes]
        n_scenes = len(meta[f"{split}_scenes"])
        table.append(f"| {split} | {n_scenes} | " + " | ".join(cells) + f" | {sum(by_type.values())} |")
    args = ", ".join(f"{key}={value}" for key, value in meta["args"].items())
    view_counts = meta.get("view_counts", {})
    view_table = ["| subset | split | questions |", "|---|---|---|"] + [
        f"| {benchmark} | {split} | {sum(by_kind.values())} |"
        for benchmark, by_split in view_counts.items()
        for split, by_kind in by_split.items()
    ]
    video = meta["video"]
    text = f"""# spatial_synth

Procedurally generated indoor scenes rendered with exact 3D ground truth, as spatial
questions in VSI-Bench's column schema (`id, dataset, scene_name, video, question_type,
question, options, ground_truth`) about one video per scene. Splits are disjoint by scene.

Generator {meta["generator_version"]} (skill3d_eval {meta["skill3d_eval_version"]}), seed {meta["seed"]}.
Arguments: {args}.

{chr(10).join(table)}

{chr(10).join(view_table)}

Categories: {", ".join(category.name for category in CATEGORIES)}.

Load with `datasets.load_dataset("parquet", data_files={{"train": "data/train.parquet", "test":
"data/test.parquet"}})`; a row's `video` (`videos/<scene>.mp4`, relative to this directory) is
the scene filmed along its camera path: {video["codec"]} {meta["args"]["width"]}x{meta["args"]["height"]}, {video["pix_fmt"]}, {video["fps"]} fps, a
keyframe every {video["gop"]} frames, CRF {video["crf"]}, one frame per camera of `scenes/<scene>.json`.
Sample frames from it as for VSI-Bench (`np.linspace(0, total - 1, num_frames, dtype=int)`).

{_CONVENTIONS.format(min_pair_distance=MIN_PAIR_DISTANCE, **meta["args"])}"""
    path.write_text(text)
