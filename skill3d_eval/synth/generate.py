"""Writing a `spatial_synth` dataset: scenes, videos, oracle truth, parquet splits, data card, meta.

Each scene is filmed along its camera path into `videos/<scene>.mp4`, which its VSI rows name;
the oracle truths are keyed by the pixels the evaluator decodes from that video (and by the
rendered pixels of the PNG frames the frame-question subsets embed).

Everything is written into a sibling staging directory and moved into place by one rename,
with `meta.json` written last inside it: a reader sees either the previous complete dataset
or the new complete one, never a half-written directory that looks finished.

Random streams are keyed by (seed, purpose, scene index) rather than drawn in sequence, so
scene `synth_0007` is the same whatever the number of scenes, and adding question templates
cannot change any scene's pixels.
"""

from __future__ import annotations

import json
import shutil
import time
import multiprocessing
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
from skill3d_experts.oracle_store import FrameTruth, OracleStore
from tqdm import tqdm

from skill3d_eval import __version__
from skill3d_eval.synth.card import write_card
from skill3d_eval.synth.questions import FIRST_TYPES, QUESTION_TYPES, make_questions
from skill3d_eval.synth.render import visible_pixels
from skill3d_eval.synth.sampling import RenderedScene, SceneParams, sample_scene
from skill3d_eval.synth.scene import save_scene
from skill3d_eval.synth.schema import DATASET_NAME, SPLITS, Row, encode_png, split_path, write_split
from skill3d_eval.synth.view_questions import (
    BENCHMARKS,
    ViewQuestion,
    make_view_questions,
)
from skill3d_eval.synth.video import CRF, FPS, GOP, film, video_relative
from skill3d_eval.synth.view_schema import view_row, write_view_split

GENERATOR_VERSION = "0.4.0"
_SPLIT_STREAM, _SCENE_STREAM, _QUESTION_STREAM, _VIEW_STREAM = 0, 1, 2, 3


@dataclass(frozen=True)
class GenerationSummary:
    """What one `generate` call wrote; `counts[split][question_type]` is a number of rows."""

    out_dir: Path
    scenes: dict[str, tuple[str, ...]]
    counts: dict[str, dict[str, int]]
    seconds: float

    @property
    def rows(self) -> dict[str, int]:
        return {split: sum(by_type.values()) for split, by_type in self.counts.items()}

    def __str__(self) -> str:
        splits = ", ".join(f"{split} {self.rows[split]} questions / {len(names)} scenes" for split, names in self.scenes.items())
        return f"spatial_synth written to {self.out_dir} in {self.seconds:.1f} s: {splits}"


def scene_name(index: int) -> str:
    return f"synth_{index:04d}"


def scene_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of scene `index`: the same room whatever the dataset's size or split,
    so a room past the last index is one no split holds (depth training renders such rooms)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SCENE_STREAM, index)))


def split_scenes(names: list[str], seed: int, test_fraction: float) -> dict[str, tuple[str, ...]]:
    """A seeded, scene-disjoint split; with two or more scenes and 0 < test_fraction < 1 both
    splits get at least one scene, so a tiny dataset still has something to train and test on."""
    n_test = round(len(names) * test_fraction)
    if len(names) >= 2 and 0 < test_fraction < 1:
        n_test = min(max(n_test, 1), len(names) - 1)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SPLIT_STREAM,)))
    test = set(rng.permutation(len(names))[:n_test].tolist())
    return {
        "train": tuple(name for i, name in enumerate(names) if i not in test),
        "test": tuple(name for i, name in enumerate(names) if i in test),
    }


def visibility(rendered: RenderedScene) -> dict[int, dict[int, int]]:
    """Pixels of each instance per frame index, as the consistency check rebuilds it from the oracle."""
    ids = [obj.instance_id for obj in rendered.scene.objects]
    counts = visible_pixels(rendered.views, ids)
    return {frame: {i: int(counts[frame, k]) for k, i in enumerate(ids)} for frame in range(len(rendered.views))}


def ordered_rows(rows: list[Row]) -> list[Row]:
    """v0.1's question types first (scene by scene), then the later ones: a `--limit N` run
    keeps seeing the kind of questions it saw with generator v0.1."""
    return [row for row in rows if row.question_type in FIRST_TYPES] + [
        row for row in rows if row.question_type not in FIRST_TYPES
    ]


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to replace a directory that is not a previous dataset (it may hold user data)."""
    if not out_dir.exists() or (out_dir.is_dir() and not any(out_dir.iterdir())):
        return
    meta = out_dir / "meta.json"
    if not (meta.is_file() and json.loads(meta.read_text()).get("dataset") == DATASET_NAME):
        raise FileExistsError(f"{out_dir} exists and is not a {DATASET_NAME} dataset; refusing to replace it")


def _publish(staging: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    retired = out_dir.parent / f".{out_dir.name}.old"
    shutil.rmtree(retired, ignore_errors=True)
    out_dir.rename(retired)
    staging.rename(out_dir)
    shutil.rmtree(retired)


def _register_scene(oracle: OracleStore, rendered: RenderedScene, video: Path) -> list[str]:
    """Encode the scene's video, decode it back as the evaluator will and store each frame's
    rendered truth under the decoded pixels; answers the oracle keys by frame index."""
    scene = rendered.scene
    decoded = film([view.rgb for view in rendered.views], video)
    return [
        oracle.put(image, FrameTruth(scene.name, index, view.depth, view.instances, scene.labels, camera.intrinsics, camera.pose_c2w))
        for index, (image, view, camera) in enumerate(zip(decoded, rendered.views, scene.cameras, strict=True))
    ]


def _frame_pngs(oracle: OracleStore, rendered: RenderedScene, keys: list[str], frames: set[int]) -> dict[int, bytes]:
    """PNGs of the frames the frame-question subsets show, their rendered pixels made known to
    the oracle beside the video's decoded ones (the image tasks get the lossless frames)."""
    pngs = {}
    for index in sorted(frames):
        rgb = rendered.views[index].rgb
        oracle.alias(rgb, keys[index])
        pngs[index] = encode_png(rgb)
    return pngs


def _build_scene(
    staging: Path, params: SceneParams, seed: int, numbered: tuple[int, str]
) -> tuple[list[Row], list[tuple[str, ViewQuestion]], dict[int, bytes]]:
    """Render scene `numbered` = (index, name), write its scene file, video and oracle truths into
    `staging`; answers its VSI rows (ids still -1), its frame questions and their PNG frames."""
    index, name = numbered
    oracle = OracleStore(staging / "oracle")
    rendered = sample_scene(name, scene_rng(seed, index), params)
    scene = rendered.scene
    save_scene(scene, staging / "scenes" / f"{name}.json")
    video = video_relative(name)
    keys = _register_scene(oracle, rendered, staging / video)
    visible = visibility(rendered)
    question_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_QUESTION_STREAM, index)))
    rows = [
        Row(-1, name, video, question.question_type, question.question, question.options, question.ground_truth)
        for question in make_questions(scene, question_rng, visible=visible, min_pixels=params.min_visible_pixels)
    ]
    view_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_VIEW_STREAM, index)))
    view_questions = make_view_questions(scene, view_rng, visible)
    pngs = _frame_pngs(oracle, rendered, keys, {frame for question in view_questions for frame in question.frames})
    return rows, [(name, question) for question in view_questions], pngs


@contextmanager
def _scene_runner(workers: int) -> Iterator[Callable]:
    """`map` over scenes, in order: in this process, or in `workers` processes (scenes are
    independent: each has its own random streams and files, so the output is the same)."""
    if workers <= 1:
        yield map
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool.map


def _write_dataset(
    staging: Path, params: SceneParams, *, scenes: int, seed: int, test_fraction: float, progress: bool, workers: int
) -> tuple[dict[str, tuple[str, ...]], dict[str, dict[str, int]]]:
    """Write every file of the dataset into `staging`, meta.json last; answers (splits, counts)."""
    names = [scene_name(i) for i in range(scenes)]
    splits = split_scenes(names, seed, test_fraction)
    split_of = {name: split for split, members in splits.items() for name in members}
    rows: dict[str, list[Row]] = {split: [] for split in SPLITS}
    view_rows: dict[str, dict[str, list[tuple[str, ViewQuestion, Mapping[int, bytes]]]]] = {
        benchmark: {split: [] for split in SPLITS} for benchmark in BENCHMARKS
    }
    with _scene_runner(workers) as run:
        built = run(partial(_build_scene, staging, params, seed), enumerate(names))
        for scene_rows, view_questions, pngs in tqdm(built, total=len(names), desc=DATASET_NAME, unit="scene", disable=not progress):
            for row in scene_rows:
                rows[split_of[row.scene_name]].append(row)
            for name, question in view_questions:
                view_rows[question.benchmark][split_of[name]].append((name, question, pngs))

    offset = 0
    for split in SPLITS:
        rows[split] = [replace(row, id=offset + i) for i, row in enumerate(ordered_rows(rows[split]))]
        offset += len(rows[split])
        write_split(rows[split], split_path(staging, split))
    view_counts: dict[str, dict[str, dict[str, int]]] = {}
    for benchmark, by_split in view_rows.items():
        offset = 0
        for split in SPLITS:
            written = [view_row(benchmark, offset + i, split, name, q, pngs) for i, (name, q, pngs) in enumerate(by_split[split])]
            offset += len(written)
            write_view_split(benchmark, written, split_path(staging, f"{benchmark}_{split}"))
            kinds = sorted({q.kind for _, q, _ in by_split[split]})
            view_counts.setdefault(benchmark, {})[split] = {k: sum(q.kind == k for _, q, _ in by_split[split]) for k in kinds}
    counts = {
        split: {qtype: sum(row.question_type == qtype for row in rows[split]) for qtype in QUESTION_TYPES}
        for split in SPLITS
    }
    meta = {
        "dataset": DATASET_NAME,
        "generator_version": GENERATOR_VERSION,
        "skill3d_eval_version": __version__,
        "seed": seed,
        "args": {"scenes": scenes, "seed": seed, "test_fraction": test_fraction, **asdict(params)},
        "counts": counts,
        "view_counts": view_counts,
        "video": {"codec": "h264", "pix_fmt": "yuv420p", "fps": FPS, "gop": GOP, "crf": CRF},
        "train_scenes": list(splits["train"]),
        "test_scenes": list(splits["test"]),
    }
    write_card(staging / "README.md", meta)
    (staging / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return splits, counts


def generate(
    out_dir: Path,
    *,
    scenes: int = 24,
    seed: int = 0,
    frames: int = 32,
    width: int = 640,
    height: int = 480,
    test_fraction: float = 1 / 3,
    progress: bool = True,
    min_objects: int = 4,
    max_objects: int = 10,
    min_visible_pixels: int = 30,
    min_views_per_object: int = 2,
    workers: int = 1,
) -> GenerationSummary:
    """Generate `scenes` scenes filmed in `frames` frames each (width x height, an mp4 per scene
    under `videos/`) with `min_objects` to
    `max_objects` objects (clutter), split by scene (`test_fraction` of them to test), into
    `out_dir`. Every object covers `min_visible_pixels` in `min_views_per_object` frames: lower
    values admit more occluded objects. Scenes are built in `workers` processes (the same
    dataset for any number).

    `out_dir` must be absent, empty, or a previous spatial_synth dataset (which is replaced).
    Raises `SceneSamplingError` when the knobs make the visibility guarantee unreachable."""
    if scenes < 1 or not 0 <= test_fraction <= 1:
        raise ValueError(f"need scenes >= 1 and 0 <= test_fraction <= 1, got {scenes}, {test_fraction}")
    if workers < 1:
        raise ValueError(f"need workers >= 1, got {workers}")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    _check_replaceable(out_dir)
    params = SceneParams(
        frames=frames,
        width=width,
        height=height,
        min_objects=min_objects,
        max_objects=max_objects,
        min_visible_pixels=min_visible_pixels,
        min_views_per_object=min_views_per_object,
    )
    staging = out_dir.parent / f".{out_dir.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        splits, counts = _write_dataset(
            staging, params, scenes=scenes, seed=seed, test_fraction=test_fraction, progress=progress, workers=workers
        )
        _publish(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return GenerationSummary(out_dir, splits, counts, time.perf_counter() - started)
