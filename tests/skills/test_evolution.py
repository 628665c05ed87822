"""Evolution end to end on spatial_synth: train rollouts on real Triton -> `skills evolve` ->
`skills freeze` -> the program policy answers the test split with the promoted workflows."""

from __future__ import annotations

import json
import os

import pytest

from skill3d_eval.agent.program import ProgramPolicy
from skill3d_eval.cli import main
from skill3d_eval.experts import ExpertsClient
from skill3d_eval.skills.embedding import LexicalEmbedder
from skill3d_eval.skills.leakage import LeakageError, check_leakage
from skill3d_eval.skills.model import Skill
from skill3d_eval.skills.rollouts import (
    accuracy_by_type,
    references_of,
    run_rollouts,
    synth_samples,
)
from skill3d_eval.synth.schema import split_path
from skill3d_eval.skills.seeds import EXPLORE_DIR, load_seed_skills
from skill3d_eval.skills.snapshot import FrozenLibrary
from skill3d_eval.skills.store import SkillStore
from skill3d_eval.tools import default_toolset

pytestmark = pytest.mark.integration


def _skill(body: dict) -> Skill:
    return Skill.model_validate({"trigger": body["id"], "strategy": "explore", **body})


BROKEN = [
    _skill({"id": "explore.count.bad_image", "task_types": ["object_counting"], "workflow": {
        "question_pattern": "How many {category}(s) are in this room?",
        "steps": [{"tool": "segment_objects", "arguments": {"image": 99, "prompt": "{category}"}}],
        "final": {"op": "value", "path": "count"}}}),
]


@pytest.fixture(scope="module")
def evolved(synth_root, synth_triton, tmp_path_factory):
    work = tmp_path_factory.mktemp("evolution")
    keys, samples = synth_samples(synth_root, "train")
    counting = [k for k in keys if samples[k.doc_id].task_type == "object_counting"]
    explore = load_seed_skills(EXPLORE_DIR)
    explored = [k for k in keys if any(samples[k.doc_id].task_type in skill.task_types for skill in explore)]
    with ExpertsClient(synth_triton.grpc_url) as client:
        run_rollouts(ProgramPolicy(default_toolset()), client, work / "seed", keys, samples)
        run_rollouts(ProgramPolicy(default_toolset(), FrozenLibrary.in_memory(explore, LexicalEmbedder())), client, work / "explore", explored, samples)
        run_rollouts(ProgramPolicy(default_toolset(), FrozenLibrary.in_memory(BROKEN, LexicalEmbedder())), client, work / "broken", counting, samples)
    store = work / "library.sqlite"
    trajectories = [str(work / run / "trajectories.jsonl") for run in ("seed", "explore", "broken")]
    assert main(["skills", "evolve", "--store", str(store), "--trajectories", *trajectories, "--references", str(split_path(synth_root, "train"))]) == 0
    assert main(["skills", "freeze", "--store", str(store), "--out", str(work / "snapshots"), "--embedder", "lexical-hash-384"]) == 0
    (snapshot,) = (work / "snapshots").glob("library-*.json")
    return SkillStore(store), snapshot


def test_one_promoted_skill_per_task_type_with_lessons_from_failures(evolved, synth_root):
    store, _ = evolved
    skills = store.skills()
    by_type = {}
    for skill in skills:
        by_type.setdefault(skill.task_types[0], []).append(skill)
    _, train = synth_samples(synth_root, "train")
    assert sorted(by_type) == sorted({sample.task_type for sample in train.values()})
    assert all(len(members) == 1 for members in by_type.values())
    route = by_type["route_planning"][0].workflow.question_pattern
    assert route.count("{goal}") == 2, "every mention of an entity is a slot"
    assert "{listed_options}" in by_type["object_rel_distance"][0].workflow.question_pattern
    counting, distance = by_type["object_counting"][0], by_type["object_abs_distance"][0]
    assert counting.workflow.tool_sequence() == ("locate_objects",) and counting.workflow.steps[0].arguments == {"category": "{category}"}
    assert counting.workflow.question_pattern == "How many {category}(s) are in this room?"
    assert distance.workflow.tool_sequence() == ("measure_distance",) and distance.workflow.final.path == "closest_point_distance_m"
    kinds = {lesson.kind.value for lesson in counting.lessons}
    assert {"wrong_tool", "invalid_tool_input"} <= kinds
    meta = json.loads(split_path(synth_root, "train").parent.parent.joinpath("meta.json").read_text())
    for skill in skills:
        assert skill.provenance.origin == "evolved" and skill.provenance.split == "train"
        assert set(skill.provenance.scenes) <= set(meta["train_scenes"])
        assert skill.stats.successes >= 3 and all(s.startswith("spatial_synth/train/") for s in skill.provenance.sample_ids)


def test_program_policy_runs_the_evolved_workflows_on_test_and_the_snapshot_is_untouched(evolved, synth_root, synth_triton, tmp_path):
    _, snapshot = evolved
    before = (snapshot.read_bytes(), os.stat(snapshot).st_mtime_ns)
    library = FrozenLibrary.open(snapshot)
    keys, samples = synth_samples(synth_root, "test")
    check_leakage(library.skills, samples.values())
    with ExpertsClient(synth_triton.grpc_url) as client:
        trajectories = run_rollouts(ProgramPolicy(default_toolset(), library), client, tmp_path / "test", keys, samples)
    accuracy = accuracy_by_type(trajectories, references_of(synth_root, "test"))
    assert len(accuracy) == 10 and all(value >= 0.95 for value in accuracy.values()), accuracy
    evolved_ids = {skill.id for skill in library.skills}
    for trajectory in trajectories:
        assert trajectory.executed_skill in evolved_ids and trajectory.library_sha256 == library.sha256
        assert trajectory.retrieved_skills[0] == trajectory.executed_skill and trajectory.retrieval_scores
    assert (snapshot.read_bytes(), os.stat(snapshot).st_mtime_ns) == before


def test_the_evolved_library_is_refused_on_its_own_training_split(evolved, synth_root):
    _, snapshot = evolved
    _, samples = synth_samples(synth_root, "train", {"object_counting"})
    with pytest.raises(LeakageError, match="built from the evaluated data"):
        check_leakage(FrozenLibrary.open(snapshot).skills, samples.values())
