"""Do evolved, scene-aware skills beat the seeds and the best uniform workflow? (issue 15)

One run, side by side, on a spatial_synth dataset generated for it and served by oracle experts
with the documented scene-dependent failure modes switched on (`skill3d_experts.noise`): metric
depth that overestimates far surfaces and misjudges each far object by its own factor (large
rooms suffer; a single picture's depth order too), a reconstruction whose point maps
carry one scale drift per scene when the camera path is shorter than 4 m (small rooms suffer), a
two-view reconstruction that sometimes puts the second camera on the wrong side of the first (the
closer the two cameras, the likelier), text-prompted segmentation that merges adjacent instances
(cluttered rooms suffer), detection that misses instances showing few pixels.

1. Training split: the program policy with the seed library, then every exploration workflow
   (skill_store/variants: the seeds' workflows with the other 3D source / object source / camera
   poses checked against depth; skill_store/explore: other tool chains) on its own, each on the
   questions of its type.
2. `evolve` into a store that starts from the seeds (scene clusters by k-means on the rollouts'
   scene descriptors, promotion by lower confidence bounds per (cluster, task)); the other
   benchmark families' training rollouts (CV-Bench 3D, BLINK, MMSI subsets: seeds and variants)
   evolve into the same store, one task per call; `freeze`.
3. Test split, three libraries: the seeds; the best uniform workflow per task type (the one with
   the best mean training score, applied to every scene); the evolved library.
4. Scene Memory: the evolved library's test run again without it: expert calls per question, same answers.

`evolved_skills_for_benchmark_families` counts the families with an active skill of origin
"evolved" (`skills.families`); a seed that merely absorbed its own rollouts does not count, nor
does a seed's workflow that evolution would only have relabelled (it merges into the seed).

`avg` is VSI-Bench's overall score: the mean over question types of each type's mean score
(MRA for numbers, accuracy for choices), in points. Differences come with a paired bootstrap over
questions (resampled within each type): p = share of resamples in which the difference is <= 0.

    .venv/bin/python benchmarks/skills_evolved_vs_seed.py [--scenes 60] [--work DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from skill3d_eval.agent.program import ProgramPolicy
from skill3d_eval.agent.runner import Runner
from skill3d_eval.experts import ExpertsClient, oracle_server
from skill3d_eval.records import Trajectory
from skill3d_eval.skills.embedding import MINILM, LexicalEmbedder, embedder_named
from skill3d_eval.skills.evolve import EvolutionConfig, evolve
from skill3d_eval.skills.leakage import check_leakage
from skill3d_eval.skills.model import Skill
from skill3d_eval.skills.references import Reference
from skill3d_eval.skills.families import evolved_skills_by_family
from skill3d_eval.skills.rollouts import SYNTH_TASKS, references_of, synth_samples
from skill3d_eval.skills.scene import SceneDescriptor, similarity
from skill3d_eval.skills.seeds import EXPLORE_DIR, VARIANTS_DIR, load_seed_skills, seed_library
from skill3d_eval.skills.snapshot import FrozenLibrary, freeze
from skill3d_eval.skills.store import SkillStore
from skill3d_eval.synth.generate import generate
from skill3d_eval.tools import SceneMemoryStore, default_toolset
from skill3d_eval.trajectory_log import TrajectoryLog

# The world's failure modes (config parameters of every oracle model; see skill3d_experts.noise).
NOISE = {"depth_error_per_m": "0.25", "depth_range_m": "4", "depth_object_error_per_m": "0.25", "reconstruction_drift": "0.2", "reconstruction_baseline_m": "4", "two_view_flip_rate": "0.6", "merge_gap_px": "15", "merge_min_instances": "4", "detection_min_area_px": "900"}
FRAMES, WIDTH, HEIGHT = 16, 320, 240
BOOTSTRAP = 2000
TARGETS = {
    "evolved_minus_seed_avg": (">=", 5.0),
    "evolved_minus_best_uniform_avg": (">=", 2.0),
    "scene_memory_expert_calls_ratio": ("<=", 0.5),
    "evolved_skills_for_benchmark_families": (">=", 4),
}


def result_line(name: str, value: float, extra: str = "", passed: bool | None = None) -> str:
    op, target = TARGETS[name]
    ok = (value >= target if op == ">=" else value <= target) if passed is None else passed
    return f"RESULT {name} {value:.4g} target {op} {target:g} {'PASS' if ok else 'FAIL'}{extra}"


def answer(policy: ProgramPolicy, client: ExpertsClient, run_dir: Path, keys, samples, *, memory: bool = True) -> list[Trajectory]:
    runner = Runner(policy, client, TrajectoryLog(run_dir), run_id=run_dir.name, fingerprint=run_dir.name, concurrency=2, resume=False,
                    scene_memory=SceneMemoryStore() if memory else None)
    return sorted(runner.run(keys, lambda index: samples[keys[index].doc_id]), key=lambda t: t.doc_id)


def score_of(trajectory: Trajectory, references: dict[int, Reference]) -> float:
    """The question's score; a failed question scores 0."""
    return references[trajectory.doc_id].score(trajectory.answer) if trajectory.stop_reason != "error" else 0.0


def scores_of(trajectories: list[Trajectory], references: dict[int, Reference]) -> dict[int, tuple[str, float]]:
    return {t.doc_id: (references[t.doc_id].question_type, score_of(t, references)) for t in trajectories}


def overall(scores: dict[int, tuple[str, float]], ids: list[int] | None = None) -> float:
    by_type: dict[str, list[float]] = defaultdict(list)
    for doc in ids if ids is not None else scores:
        kind, value = scores[doc]
        by_type[kind].append(value)
    return 100 * float(np.mean([np.mean(values) for values in by_type.values()]))


def paired_bootstrap(a: dict[int, tuple[str, float]], b: dict[int, tuple[str, float]], seed: int = 0) -> tuple[float, float]:
    """(difference of overall scores a - b, one-sided p that it is <= 0), resampling questions within types."""
    rng = np.random.default_rng(seed)
    by_type: dict[str, list[int]] = defaultdict(list)
    for doc, (kind, _) in a.items():
        by_type[kind].append(doc)
    diffs = []
    for _ in range(BOOTSTRAP):
        ids = [doc for docs in by_type.values() for doc in rng.choice(docs, size=len(docs), replace=True)]
        diffs.append(overall(a, ids) - overall(b, ids))
    return overall(a) - overall(b), float(np.mean(np.array(diffs) <= 0))


def nearest(centres: list[SceneDescriptor], trajectory: Trajectory) -> int | None:
    if not centres or trajectory.scene_descriptor is None:
        return None
    here = SceneDescriptor.model_validate(trajectory.scene_descriptor)
    return int(np.argmax([similarity(here, centre) for centre in centres]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=60, help="spatial_synth scenes to generate (half train, half test)")
    parser.add_argument("--work", type=Path, help="keep everything here (default: a temporary directory)")
    parser.add_argument("--clusters", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="skills-evolved-") as tmp:
        work = (args.work or Path(tmp)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        return benchmark(work, args.scenes, args.clusters)


def benchmark(work: Path, scenes: int, clusters: int) -> int:
    clock: dict[str, float] = {}

    def timed(stage: str, fn: Callable, *a, **k):
        began = time.perf_counter()
        value = fn(*a, **k)
        clock[stage] = time.perf_counter() - began
        print(f"[{stage}] {clock[stage]:.0f} s", flush=True)
        return value

    data = work / "synth"
    if not (data / "meta.json").is_file():
        timed("generate", generate, data, scenes=scenes, frames=FRAMES, width=WIDTH, height=HEIGHT, test_fraction=0.5, progress=False)
    train_keys, train = synth_samples(data, "train", num_frames=FRAMES)
    test_keys, test = synth_samples(data, "test", num_frames=FRAMES)
    train_refs, test_refs = references_of(data, "train"), references_of(data, "test")
    explore = load_seed_skills(EXPLORE_DIR) + load_seed_skills(VARIANTS_DIR)
    seeds = load_seed_skills()
    with oracle_server(data / "oracle", log_file=work / "triton.log", parameters=NOISE) as server, ExpertsClient(server.grpc_url, timeout_s=120) as client:
        rollouts = timed("train: seeds", answer, ProgramPolicy(default_toolset()), client, work / "train-seed", train_keys, train)
        by_workflow: dict[str, list[Trajectory]] = {}
        for trajectory in rollouts:
            if trajectory.executed_skill:
                by_workflow.setdefault(trajectory.executed_skill, []).append(trajectory)
        began = time.perf_counter()
        for skill in explore:
            keys = [k for k in train_keys if train[k.doc_id].task_type in skill.task_types]
            if not keys:
                continue
            runs = answer(ProgramPolicy(default_toolset(), FrozenLibrary.in_memory([skill], LexicalEmbedder())), client, work / f"train-{skill.id}", keys, train)
            by_workflow[skill.id] = runs
            rollouts += runs
        clock["train: exploration"] = time.perf_counter() - began
        print(f"[train: exploration] {clock['train: exploration']:.0f} s, {len(explore)} workflows", flush=True)

        store = SkillStore(work / "library.sqlite")
        store.put_many(seeds)
        report = timed("evolve", evolve, store, rollouts, train_refs, EvolutionConfig(clusters=clusters))
        # The other benchmark families pool into the same library: their training rollouts (seeds, then
        # every variant of their types on its own), one evolve per task.
        subset_tests = {}
        for task in SYNTH_TASKS[1:]:
            keys, samples = synth_samples(data, "train", task=task)
            runs = answer(ProgramPolicy(default_toolset()), client, work / f"train-{task}", keys, samples)
            for skill in explore:
                mine = [k for k in keys if samples[k.doc_id].task_type in skill.task_types]
                if mine:
                    runs += answer(ProgramPolicy(default_toolset(), FrozenLibrary.in_memory([skill], LexicalEmbedder())), client, work / f"train-{task}-{skill.id}", mine, samples)
            evolve(store, runs, references_of(data, "train", task=task), EvolutionConfig(clusters=clusters))
            subset_tests[task] = synth_samples(data, "test", task=task)
        evolved = FrozenLibrary.open(freeze(store.skills(), embedder_named(MINILM), work / "snapshots", store.library_version()))
        check_leakage(evolved.skills, test.values())
        subset_scores = {}
        for task, (keys, samples) in subset_tests.items():
            references = references_of(data, "test", task=task)
            for name, library in (("seed", seed_library()), ("evolved", evolved)):
                runs = answer(ProgramPolicy(default_toolset(), library), client, work / f"test-{task}-{name}", keys, samples)
                subset_scores[(task, name)] = 100 * float(np.mean([score_of(t, references) for t in runs]))

        # Best uniform: per type, the workflow with the best mean training score, for every scene.
        every = {s.id: s for s in seeds + explore}
        best: dict[str, tuple[float, Skill]] = {}
        for skill_id, runs in by_workflow.items():
            skill = every[skill_id]
            mean = float(np.mean([score_of(t, train_refs) for t in runs]))
            kind = skill.task_types[0]
            if kind not in best or mean > best[kind][0]:
                best[kind] = (mean, skill)
        uniform = FrozenLibrary.in_memory([skill for _, skill in best.values()], LexicalEmbedder())

        seed_runs = timed("test: seeds", answer, ProgramPolicy(default_toolset(), seed_library()), client, work / "test-seed", test_keys, test)
        uniform_runs = timed("test: best uniform", answer, ProgramPolicy(default_toolset(), uniform), client, work / "test-uniform", test_keys, test)
        calls_before = client.stats.server_calls
        evolved_runs = timed("test: evolved", answer, ProgramPolicy(default_toolset(), evolved), client, work / "test-evolved", test_keys, test)
        memory_calls = client.stats.server_calls - calls_before
        calls_before = client.stats.server_calls
        plain_runs = timed("test: evolved, no Scene Memory", answer, ProgramPolicy(default_toolset(), evolved), client, work / "test-evolved-plain", test_keys, test, memory=False)
        plain_calls = client.stats.server_calls - calls_before

    seed_scores, uniform_scores, evolved_scores = (scores_of(runs, test_refs) for runs in (seed_runs, uniform_runs, evolved_runs))
    kinds = sorted({kind for kind, _ in seed_scores.values()})
    print(f"\nscene clusters (k-means on {len({t.scene for t in rollouts})} training scenes' descriptors):")
    for index, centre in enumerate(report.clusters):
        print(f"  {index}: {centre.describe()}")
    print(f"evolution: promoted {len(report.promoted)}, merged {len(report.merged)}, retired {len(report.retired)}; cluster-keyed skills:")
    for skill_id, indices in report.cluster_skills.items():
        print(f"  {skill_id}: clusters {indices}")
    for skill_id, indices in report.best_in.items():
        print(f"  {skill_id} (the type's default): best in clusters {indices}")
    print("\ntraining mean score per workflow and scene cluster (why one workflow is not best everywhere):")
    print(f"{'workflow':<58}" + "".join(f"{'c' + str(i):>7}" for i in range(len(report.clusters))) + f"{'all':>7}")
    for skill_id, runs in sorted(by_workflow.items()):
        cells = defaultdict(list)
        for t in runs:
            score = score_of(t, train_refs)
            cells[nearest(report.clusters, t)].append(score)
            cells["all"].append(score)
        print(f"{skill_id:<58}" + "".join(f"{100 * np.mean(cells[i]):>7.1f}" if cells[i] else f"{'-':>7}" for i in range(len(report.clusters))) + f"{100 * np.mean(cells['all']):>7.1f}")
    print("best uniform workflow per type (train mean score): " + ", ".join(f"{k}={s.id} ({m:.3f})" for k, (m, s) in sorted(best.items())))
    print(f"\n{'test (points)':<30}{'n':>4}{'seed':>8}{'uniform':>9}{'evolved':>9}")
    for kind in kinds:
        ids = [d for d, (k, _) in seed_scores.items() if k == kind]
        row = [100 * np.mean([scores[d][1] for d in ids]) for scores in (seed_scores, uniform_scores, evolved_scores)]
        print(f"{kind:<30}{len(ids):>4}{row[0]:>8.1f}{row[1]:>9.1f}{row[2]:>9.1f}")
    print(f"{'avg':<30}{len(seed_scores):>4}{overall(seed_scores):>8.1f}{overall(uniform_scores):>9.1f}{overall(evolved_scores):>9.1f}")

    def tool_use(runs: list[Trajectory]) -> str:
        calls = np.mean([t.tool_calls for t in runs])
        failed = sum(t.stop_reason == "error" for t in runs)
        return f"{calls:.2f} tool calls/q, {failed} failed"

    print(f"tool use: seed {tool_use(seed_runs)}; uniform {tool_use(uniform_runs)}; evolved {tool_use(evolved_runs)}")
    assert [t.answer for t in plain_runs] == [t.answer for t in evolved_runs], "Scene Memory changed answers"
    print("wall times: " + ", ".join(f"{stage} {seconds:.0f} s" for stage, seconds in clock.items()))

    gain_seed, p_seed = paired_bootstrap(evolved_scores, seed_scores)
    gain_uniform, p_uniform = paired_bootstrap(evolved_scores, uniform_scores)
    by_family = evolved_skills_by_family(evolved.skills)
    print("other benchmark families, test split (points): " + ", ".join(f"{task} seed {subset_scores[(task, 'seed')]:.1f} evolved {subset_scores[(task, 'evolved')]:.1f}" for task in SYNTH_TASKS[1:]))
    print(f"active evolved skills per family: {by_family}")
    families = len(by_family)
    print(result_line("evolved_minus_seed_avg", gain_seed, f" (paired bootstrap p={p_seed:.4f}, target p < 0.01)", passed=gain_seed >= 5 and p_seed < 0.01))
    print(result_line("evolved_minus_best_uniform_avg", gain_uniform, f" (paired bootstrap p={p_uniform:.4f})"))
    print(result_line("scene_memory_expert_calls_ratio", memory_calls / plain_calls, f" ({memory_calls} vs {plain_calls} expert calls, answers identical)"))
    print(result_line("evolved_skills_for_benchmark_families", families))
    return 0


if __name__ == "__main__":
    sys.exit(main())
