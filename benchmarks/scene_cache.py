"""Expert calls per question with and without the client's content-addressed result cache.

VSI-Bench asks ~18 questions per scene and every question looks at the same frames, so
without a cache the experts recompute the same depth maps, masks and poses question after
question. This runs the `program` policy over the spatial_synth test split with every
question its templates can ask about each scene (the split's scenes and
frames, more questions per scene than the generator's default sample), once with a plain client
and once with a fresh on-disk cache, against one oracle Triton server, and counts the calls
that reached the server. Answers must be identical. Target: cached ≤ 0.2× uncached.

    .venv/bin/python benchmarks/scene_cache.py [--data data/spatial_synth]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from skill3d_eval.agent.program import ProgramError, ProgramPolicy
from skill3d_eval.records import Sample, Trajectory
from skill3d_eval.experts import ExpertsClient, oracle_server
from skill3d_eval.settings import SYNTH_ROOT
from skill3d_eval.synth.questions import make_questions
from skill3d_eval.synth.scene import load_scene
from skill3d_eval.lmms.sample import DEFAULT_NUM_FRAMES
from skill3d_eval.media.video import sample_frames
from skill3d_eval.tools import ToolContext, default_toolset


def scene_questions(data: Path) -> list[Sample]:
    meta = json.loads((data / "meta.json").read_text())
    rows = pd.read_parquet(data / "data" / "test.parquet")
    samples = []
    for scene_name in meta["test_scenes"]:
        first = rows[rows["scene_name"] == scene_name].iloc[0]
        frames = list(sample_frames(data / first["video"], DEFAULT_NUM_FRAMES))
        scene = load_scene(data / "scenes" / f"{scene_name}.json")
        for question in make_questions(scene, np.random.default_rng(0), max_counting=50, max_distance=50):
            samples.append(
                Sample(task="spatial_synth", doc_id=len(samples), sample_id=f"{scene_name}/{len(samples)}", question=question.question,
                       frames=frames, task_type=question.question_type, options=list(question.options), scene=scene_name)
            )
    return samples


def run(samples: list[Sample], experts: ExpertsClient) -> list[str]:
    policy = ProgramPolicy(default_toolset())
    answers = []
    for sample in samples:
        trajectory = Trajectory(task=sample.task, doc_id=sample.doc_id, sample_id=sample.sample_id, question=sample.question,
                                task_type=sample.task_type, scene=sample.scene, policy=policy.name)
        try:
            answers.append(policy.run(sample, ToolContext(sample, experts), trajectory).answer)
        except ProgramError as error:
            answers.append(f"error: {error}")
    return answers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SYNTH_ROOT)
    args = parser.parse_args()
    samples = scene_questions(args.data)
    scenes = len({s.scene for s in samples})
    with oracle_server(args.data / "oracle", models=["depth", "reconstruction", "segmentation"]) as server, tempfile.TemporaryDirectory() as cache_dir:
        figures = {}
        for name, kwargs in (("uncached", {}), ("cached", {"cache_dir": cache_dir})):
            with ExpertsClient(server.grpc_url, timeout_s=60, **kwargs) as experts:
                began = time.perf_counter()
                answers = run(samples, experts)
                figures[name] = (answers, experts.stats.server_calls, experts.stats.cache_hits, time.perf_counter() - began)
    assert figures["uncached"][0] == figures["cached"][0], "the cache changed answers"
    errors = sum(a.startswith("error") for a in figures["cached"][0])
    print(f"spatial_synth test split: {len(samples)} questions over {scenes} scenes ({len(samples) / scenes:.1f} per scene), {errors} failed")
    print(f"{'client':<10}{'server calls':>14}{'calls/question':>16}{'cache hits':>12}{'seconds':>10}")
    for name, (_, calls, hits, seconds) in figures.items():
        print(f"{name:<10}{calls:>14}{calls / len(samples):>16.2f}{hits:>12}{seconds:>10.1f}")
    ratio = figures["cached"][1] / figures["uncached"][1]
    print(f"RESULT scene_cache_call_ratio {ratio:.3f} target <= 0.2 {'PASS' if ratio <= 0.2 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
