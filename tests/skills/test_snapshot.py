"""Frozen snapshots are content-addressed and read-only; the leakage guard and the split gate refuse."""

from __future__ import annotations

import os
import stat

import pytest

from skill3d_eval.records import Trajectory
from skill3d_eval.cli import main
from skill3d_eval.skills.embedding import LexicalEmbedder
from skill3d_eval.skills.evolve import EvolutionError, evolve
from skill3d_eval.skills.leakage import LeakageError, check_leakage
from skill3d_eval.skills.model import Provenance
from skill3d_eval.skills.seeds import load_seed_skills
from skill3d_eval.skills.snapshot import FrozenLibrary, SnapshotError, freeze
from skill3d_eval.skills.store import SkillStore


def test_freeze_is_content_addressed_read_only_and_reproducible(tmp_path):
    skills = load_seed_skills()
    path = freeze(skills, LexicalEmbedder(), tmp_path, library_version=3)
    library = FrozenLibrary.open(path)
    assert path.name == f"library-{library.sha256}.json"
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert freeze(list(reversed(skills)), LexicalEmbedder(), tmp_path, library_version=3) == path
    assert [s.id for s in library.skills] == sorted(s.id for s in skills) and library.library_version == 3


def test_a_modified_snapshot_is_refused(tmp_path):
    path = freeze(load_seed_skills(), LexicalEmbedder(), tmp_path, library_version=0)
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes().replace(b"locate_objects", b"measure_room", 1))
    with pytest.raises(SnapshotError, match="does not match its name"):
        FrozenLibrary.open(path)


class _Evaluated:
    def __init__(self, sample_id, question, scene):
        self.sample_id, self.question, self.scene = sample_id, question, scene


def _library_from(scenes, questions):
    skill = load_seed_skills()[0]
    built = skill.model_copy(update={"provenance": Provenance(origin="evolved", split="train", scenes=scenes, questions=questions)})
    return [built, *load_seed_skills()[1:]]


def test_leakage_guard_fires_on_shared_scenes_or_questions():
    test_split = [_Evaluated("spatial_synth/test/0", "Prompt.\nHow many chair(s) are in this room?\nAnswer.", "synth_0007")]
    with pytest.raises(LeakageError, match=r"synth_0007"):
        check_leakage(_library_from(["synth_0007"], []), test_split)
    with pytest.raises(LeakageError, match="1 shared questions"):
        check_leakage(_library_from([], ["How many chair(s) are in this room?"]), test_split)
    check_leakage(_library_from([], ["How many sofa(s) are in this room?"]), test_split)
    # The same wording about a training scene is another question.
    check_leakage(_library_from(["synth_0001"], ["How many chair(s) are in this room?"]), test_split)


def test_check_leakage_command_on_the_real_splits(synth_root, tmp_path):
    import pandas as pd

    test_rows = pd.read_parquet(synth_root / "data" / "test.parquet", columns=["scene_name", "question"])
    train_rows = pd.read_parquet(synth_root / "data" / "train.parquet", columns=["scene_name", "question"])
    leaky = freeze(_library_from([test_rows.scene_name[0]], []), LexicalEmbedder(), tmp_path / "leaky", 1)
    clean = freeze(_library_from(sorted(set(train_rows.scene_name)), []), LexicalEmbedder(), tmp_path / "clean", 1)
    with pytest.raises(SystemExit, match="built from the evaluated data"):
        main(["skills", "check-leakage", "--library", str(leaky), "--dataset", str(synth_root / "data" / "test.parquet")])
    assert main(["skills", "check-leakage", "--library", str(clean), "--dataset", str(synth_root / "data" / "test.parquet")]) == 0


def test_evolution_refuses_test_split_trajectories(tmp_path):
    store = SkillStore(tmp_path / "lib.sqlite")
    trajectory = Trajectory(task="spatial_synth", doc_id=0, sample_id="spatial_synth/test/0", question="q", task_type="object_counting", scene="s", policy="program")
    with pytest.raises(EvolutionError, match="not from split 'train'.*spatial_synth/test/0"):
        evolve(store, [trajectory], {})
    from skill3d_eval.skills.evolve import EvolutionConfig

    with pytest.raises(EvolutionError, match="--split test"):
        evolve(store, [trajectory], {}, EvolutionConfig(split="test"))
    assert store.skills() == [] and store.library_version() == 0
    # Through the CLI: one line naming what to fix, no traceback.
    trajectories = tmp_path / "trajectories.jsonl"
    trajectories.write_text(trajectory.model_dump_json() + "\n")
    evolve_cli = ["skills", "evolve", "--store", str(tmp_path / "cli.sqlite")]
    with pytest.raises(SystemExit, match=r"skills evolve: .*missing\.jsonl"):
        main([*evolve_cli, "--trajectories", str(tmp_path / "missing.jsonl"), "--references", str(tmp_path / "refs.parquet")])
    with pytest.raises(SystemExit, match=r"skills evolve: .*refs\.parquet: cannot read references"):
        main([*evolve_cli, "--trajectories", str(trajectories), "--references", str(tmp_path / "refs.parquet")])


def test_skills_below_their_alternative_are_retired(tmp_path):
    from skill3d_eval.skills.model import SkillStats

    store = SkillStore(tmp_path / "lib.sqlite")
    seed = load_seed_skills()[0]
    strong = seed.model_copy(update={"id": "count.strong", "stats": SkillStats(uses=50, successes=48)})
    weak = seed.model_copy(update={"id": "count.weak", "stats": SkillStats(uses=50, successes=20)})
    fresh = seed.model_copy(update={"id": "count.fresh"})  # too few uses to judge
    store.put_many([strong, weak, fresh])
    report = evolve(store, [], {})
    assert report.retired == ["count.weak"]
    assert {s.id for s in store.skills()} == {"count.strong", "count.fresh"}
    assert store.get("count.weak").retired and store.library_version() == 1
