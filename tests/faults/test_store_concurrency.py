"""Four writer processes on one skill store, each interleaving `record_use` with get → modify → put.

Before the store owned its counters, a `put` of a skill read a moment earlier wrote that
reading's `uses` back over the uses recorded in between (about 85% of them were lost). Run on a
real SQLite file and on a throwaway PostgreSQL cluster (skipped where its binaries are absent).
"""

from __future__ import annotations

import multiprocessing

import pytest

from skill3d_eval.skills.model import Skill, SkillStats
from skill3d_eval.skills.seeds import load_seed_skills
from skill3d_eval.skills.store import SkillChanged, SkillStore
from tests.skills.test_store_postgres import postgres_url  # noqa: F401  (the throwaway cluster fixture)

pytestmark = pytest.mark.integration

WORKERS = 4
ROUNDS = 100


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    return str(tmp_path / "shared.sqlite") if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def _fresh_skill(store: SkillStore, name: str) -> Skill:
    """A skill of its own per test, so tests can share one PostgreSQL database."""
    seed = load_seed_skills()[0]
    skill = seed.model_copy(update={"id": f"{seed.id}.{name}", "stats": SkillStats()})
    store.put(skill)
    return skill


def _with_marker(skill: Skill, marker: str) -> Skill:
    provenance = skill.provenance.model_copy(update={"sample_ids": [*skill.provenance.sample_ids, marker]})
    return skill.model_copy(update={"provenance": provenance})


def _plus_one_use(skill: Skill) -> Skill:
    """What evolution's merge does: add uses counted elsewhere to the stats that were read."""
    s = skill.stats
    return skill.model_copy(update={"stats": SkillStats(uses=s.uses + 1, successes=s.successes + 1, reward_sum=s.reward_sum + 1.0, last_used=s.last_used)})


def _writer(url: str, skill_id: str, worker: int, guarded: bool, start) -> None:
    store = SkillStore(url)
    start.wait()
    for i in range(ROUNDS):
        store.record_use(skill_id, success=(i % 2 == 0), reward=0.5)
        marker = f"w{worker}.{i}"
        if not guarded:  # what callers did before `replaces`: a blind put of what was read
            store.put(_with_marker(store.get(skill_id), marker))
            continue
        while True:
            read = store.get(skill_id)
            changed = _with_marker(read, marker)
            try:
                store.put(_plus_one_use(changed) if i % 4 == 0 else changed, replaces=read)
                break
            except SkillChanged:
                continue  # another writer changed the definition since our get: read again
    store.close()


def _run_writers(url: str, skill_id: str, guarded: bool) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WORKERS)
    workers = [context.Process(target=_writer, args=(url, skill_id, w, guarded, start)) for w in range(WORKERS)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=300)
        assert process.exitcode == 0


def test_a_blind_put_of_a_stale_get_never_overwrites_counters(store_url):
    store = SkillStore(store_url)
    skill = _fresh_skill(store, "blind")
    _run_writers(store_url, skill.id, guarded=False)
    final = store.get(skill.id)
    recorded = WORKERS * ROUNDS
    assert final.stats.uses == recorded, f"{recorded - final.stats.uses} of {recorded} uses lost"
    assert final.stats.successes == WORKERS * ROUNDS // 2 and final.stats.reward_sum == pytest.approx(0.5 * recorded)
    assert store.integrity_errors() == []
    store.close()


def test_get_modify_put_with_replaces_loses_no_use_and_no_change(store_url):
    store = SkillStore(store_url)
    skill = _fresh_skill(store, "guarded")
    _run_writers(store_url, skill.id, guarded=True)
    final = store.get(skill.id)
    recorded, merged = WORKERS * ROUNDS, WORKERS * ROUNDS // 4
    assert final.stats.uses == recorded + merged, f"{recorded + merged - final.stats.uses} of {recorded + merged} uses lost"
    assert final.stats.successes == recorded // 2 + merged and final.stats.reward_sum == pytest.approx(0.5 * recorded + merged)
    markers = [m for m in final.provenance.sample_ids if m.startswith("w")]
    expected = {f"w{w}.{i}" for w in range(WORKERS) for i in range(ROUNDS)}
    assert len(markers) == len(set(markers)) and set(markers) == expected, f"{len(expected - set(markers))} of {len(expected)} puts' changes lost"
    assert final.stats.last_used is not None
    assert store.integrity_errors() == []
    store.close()
