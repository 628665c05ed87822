"""One library for all four benchmark families of spatial_synth (VSI-Bench, CV-Bench 3D, BLINK
multi-view, MMSI-Bench positional relationships), on a real Triton with the oracle experts.

The seed skills answer each subset's test split through the stock lmms-eval CLI; rollouts of
the seeds on every task's training split, evolved into one store, promote skills for every
family, and those answer the subsets' test questions (other scenes, other objects) as well.
"""

from __future__ import annotations

import json

import pytest

from skill3d_eval.agent.program import ProgramPolicy
from skill3d_eval.cli import main
from skill3d_eval.evaluate import run_lmms_eval
from skill3d_eval.experts import ExpertsClient
from skill3d_eval.skills.embedding import LexicalEmbedder
from skill3d_eval.skills.evolve import evolve
from skill3d_eval.skills.families import evolved_skills_by_family
from skill3d_eval.skills.leakage import check_leakage
from skill3d_eval.skills.rollouts import SYNTH_TASKS, accuracy_by_type, references_of, run_rollouts, split_file, synth_samples
from skill3d_eval.skills.seeds import load_seed_skills
from skill3d_eval.skills.snapshot import FrozenLibrary
from skill3d_eval.skills.store import SkillStore
from skill3d_eval.tools import default_toolset
from skill3d_eval.trajectory_log import read_trajectories

pytestmark = pytest.mark.integration

SUBSETS = {"spatial_synth_cv3d": "cvbench", "spatial_synth_blink": "blink", "spatial_synth_mmsi": "mmsi"}
# Per-type metrics of each subset's task (none may be missing: every type has test questions).
METRICS = {
    "spatial_synth_cv3d": ("cvbench_3d_overall", "depth_order_accuracy", "relative_distance_accuracy"),
    "spatial_synth_blink": ("blink_multiview_acc",),
    "spatial_synth_mmsi": (
        "mmsi_overall", "positional_relationship_cam_cam_accuracy", "positional_relationship_cam_obj_accuracy", "positional_relationship_obj_obj_accuracy",
    ),
}
NEW_TYPES = {
    "Depth", "Distance", "Multi-view_Reasoning",
    "Positional Relationship (Cam.-Cam.)", "Positional Relationship (Cam.-Obj.)", "Positional Relationship (Obj.-Obj.)",
}
# VSI-Bench's part is evolved on two of its question types only: the others are test_evolution's.
VSI_TYPES = {"object_rel_direction_easy", "route_planning"}


def test_seed_skills_answer_every_subset_through_the_cli(synth_triton, tmp_path):
    runs = tmp_path / "runs"
    results_file = run_lmms_eval(
        list(SUBSETS), {"policy": "program", "triton_url": synth_triton.grpc_url, "output_dir": runs, "run_name": "subsets"}, tmp_path / "out"
    )
    results = json.loads(results_file.read_text())["results"]
    for task, metrics in METRICS.items():
        for metric in metrics:
            assert results[task][f"{metric},none"] >= 0.95, (task, metric, results[task])

    seeds = {skill.id: skill for skill in load_seed_skills()}
    trajectories = read_trajectories(runs / "subsets" / "trajectories.jsonl")
    by_task = {task: [t for t in trajectories if t.task == task] for task in SUBSETS}
    assert all(by_task.values()) and len(trajectories) == sum(map(len, by_task.values()))
    for task, family in SUBSETS.items():
        for trajectory in by_task[task]:
            assert trajectory.error is None and trajectory.tool_calls == 1
            assert seeds[trajectory.executed_skill].family == family and trajectory.task_type in seeds[trajectory.executed_skill].task_types


@pytest.fixture(scope="module")
def pooled(synth_root, synth_triton, tmp_path_factory):
    """One store, evolved task by task from the seed skills' rollouts on each training split."""
    work = tmp_path_factory.mktemp("families")
    store = SkillStore(work / "library.sqlite")
    reports = {}
    with ExpertsClient(synth_triton.grpc_url) as client:
        for task in SYNTH_TASKS:
            keys, samples = synth_samples(synth_root, "train", VSI_TYPES if task == "spatial_synth" else None, task=task)
            trajectories = run_rollouts(ProgramPolicy(default_toolset()), client, work / task, keys, samples)
            reports[task] = evolve(store, trajectories, references_of(synth_root, "train", task=task))
    return store, reports, work


def test_evolution_promotes_skills_for_all_four_benchmark_families(pooled):
    store, reports, _ = pooled
    skills = store.skills()
    assert set(evolved_skills_by_family(skills)) == {"vsi_bench", "cvbench", "blink", "mmsi"}
    by_type = {}
    for skill in skills:
        by_type.setdefault(skill.task_types[0], []).append(skill)
    assert set(by_type) == NEW_TYPES | VSI_TYPES and all(len(members) == 1 for members in by_type.values())
    assert all(report.promoted for report in reports.values())
    assert not any(reports[task].rejected for task in SUBSETS), {task: reports[task].rejected for task in SUBSETS}
    for task_type in NEW_TYPES:
        (skill,) = by_type[task_type]
        assert skill.id.startswith("evolved.") and skill.stats.successes >= 3 and skill.provenance.origin == "evolved"
        family = next(f for t, f in SUBSETS.items() if all(s.startswith(f"{t}/train/") for s in skill.provenance.sample_ids))
        assert skill.family == family
    # A seed is written as induction writes its own rollouts, so a store holding the seeds merges
    # them into it instead of promoting a copy (Distance's rollouts agree on closest points too).
    seeds = {skill.task_types[0]: skill.workflow for skill in load_seed_skills()}
    for task_type in NEW_TYPES:
        evolved = by_type[task_type][0].workflow
        assert (evolved.question_pattern, evolved.steps) == (seeds[task_type].question_pattern, seeds[task_type].steps), task_type
    # The objects a CV-Bench question names are the options, in order: slots, not literal words.
    depth, distance = by_type["Depth"][0].workflow, by_type["Distance"][0].workflow
    assert "the {option_1} or the {option_2}?" in depth.question_pattern and depth.steps[0].arguments["categories"] == "{options}"
    assert "closer to the {reference}, the {option_1} or the {option_2}?" in distance.question_pattern
    assert by_type["Positional Relationship (Cam.-Obj.)"][0].workflow.question_pattern.count("{target_object}") == 2


def test_the_pooled_evolved_library_answers_each_subsets_test_split(pooled, synth_root, synth_triton, tmp_path):
    store, _, _ = pooled
    library = FrozenLibrary.in_memory(store.skills(), LexicalEmbedder())
    with ExpertsClient(synth_triton.grpc_url) as client:
        for task in SUBSETS:
            keys, samples = synth_samples(synth_root, "test", task=task)
            check_leakage(library.skills, samples.values())
            trajectories = run_rollouts(ProgramPolicy(default_toolset(), library), client, tmp_path / task, keys, samples)
            accuracy = accuracy_by_type(trajectories, references_of(synth_root, "test", task=task))
            assert accuracy and all(value >= 0.95 for value in accuracy.values()), (task, accuracy)
            assert all(t.executed_skill.startswith("evolved.") for t in trajectories)


def test_the_cli_evolves_mmsi_from_the_rows_its_task_hands_the_model(pooled, synth_root, tmp_path):
    """MMSI-Bench's options are parsed from the question by the task: the parquet alone has none
    to choose from, so no workflow's final computation can be checked against the answers."""
    _, _, work = pooled
    arguments = ["--trajectories", str(work / "spatial_synth_mmsi" / "trajectories.jsonl"), "--references", str(split_file(synth_root, "train", "spatial_synth_mmsi"))]
    assert main(["skills", "evolve", "--store", str(tmp_path / "task.sqlite"), *arguments, "--task", "spatial_synth_mmsi"]) == 0
    assert evolved_skills_by_family(SkillStore(tmp_path / "task.sqlite").skills()) == {"mmsi": 3}
    assert main(["skills", "evolve", "--store", str(tmp_path / "parquet.sqlite"), *arguments]) == 0
    assert evolved_skills_by_family(SkillStore(tmp_path / "parquet.sqlite").skills()) == {}
