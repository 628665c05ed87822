"""The store: migrations, JSON round trip, and concurrent writer processes losing nothing."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3

import pytest

from skill3d_eval.skills.memory import SceneFact
from skill3d_eval.skills.model import FailureKind, Lesson, Skill, SkillStats
from skill3d_eval.skills.seeds import load_seed_skills
from skill3d_eval.skills.store import (
    SCHEMA_VERSION,
    SkillChanged,
    SkillStore,
    StoreError,
    database_url,
)


def _skill() -> Skill:
    seed = load_seed_skills()[0]
    lesson = Lesson(kind=FailureKind.tool_failure, what_went_wrong="w", advice="a", applies_to=list(seed.task_types), tool="locate_objects")
    return seed.model_copy(update={"lessons": [lesson]})


def test_put_get_roundtrip_and_wal(tmp_path):
    store = SkillStore(tmp_path / "lib.sqlite")
    skill = _skill()
    store.put(skill)
    assert store.get(skill.id) == skill
    assert store.schema_version() == SCHEMA_VERSION
    with sqlite3.connect(tmp_path / "lib.sqlite") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(StoreError, match="no skill 'missing'"):
        store.get("missing")


def test_a_blind_put_replaces_the_definition_and_keeps_the_counters(tmp_path):
    store = SkillStore(tmp_path / "lib.sqlite")
    skill = _skill()
    store.put(skill.model_copy(update={"stats": SkillStats(uses=3, successes=1, reward_sum=1.5)}))  # a new skill: its stats are written
    read = store.get(skill.id)
    store.record_use(skill.id, success=True, reward=1.0)
    store.put(read.model_copy(update={"strategy": "rewritten", "stats": SkillStats()}))
    final = store.get(skill.id)
    assert final.strategy == "rewritten"
    assert (final.stats.uses, final.stats.successes, final.stats.reward_sum) == (4, 2, 2.5) and final.stats.last_used is not None


def test_put_with_replaces_checks_the_definition_and_adds_the_stats_difference(tmp_path):
    store = SkillStore(tmp_path / "lib.sqlite")
    skill = _skill()
    store.put(skill)
    read = store.get(skill.id)
    store.record_use(skill.id, success=False, reward=0.25)  # counters are not the definition: no conflict
    merged = read.model_copy(update={"strategy": "merged", "stats": SkillStats(uses=2, successes=2, reward_sum=2.0)})
    store.put(merged, replaces=read)
    final = store.get(skill.id)
    assert final.strategy == "merged" and (final.stats.uses, final.stats.successes, final.stats.reward_sum) == (3, 2, 2.25)
    with pytest.raises(SkillChanged, match="changed .* since it was read"):
        store.put(read.model_copy(update={"strategy": "stale"}), replaces=read)
    store.retire(skill.id)
    with pytest.raises(SkillChanged):  # a stale put may not bring a retired skill back
        store.put(final, replaces=final)
    assert store.get(skill.id).strategy == "merged" and store.get(skill.id).retired
    with pytest.raises(SkillChanged, match="no longer in"):
        store.put(skill.model_copy(update={"id": "never.stored"}), replaces=skill.model_copy(update={"id": "never.stored"}))
    current = store.get(skill.id)
    with pytest.raises(StoreError, match="leaves invalid counters"):
        store.put(current.model_copy(update={"stats": SkillStats()}), replaces=current.model_copy(update={"stats": SkillStats(uses=9)}))


def test_an_old_schema_is_migrated_forward(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as raw:  # what version 1 of the schema wrote
        raw.execute("CREATE TABLE library_meta (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL)")
        raw.execute("CREATE TABLE skills (id VARCHAR(128) PRIMARY KEY, body TEXT NOT NULL, uses INTEGER NOT NULL, successes INTEGER NOT NULL, reward_sum FLOAT NOT NULL, last_used DATETIME, retired BOOLEAN NOT NULL, revision INTEGER NOT NULL)")
        raw.execute("INSERT INTO library_meta VALUES ('schema_version', '1'), ('library_version', '4')")
    store = SkillStore(path)
    assert store.schema_version() == 2 and store.library_version() == 4
    fact = SceneFact(scene="s1", subject="room", kind="room_extent", value={"floor_area_m2": 20.0}, tool="measure_room")
    store.put_fact(fact)
    assert store.facts("s1") == [fact]


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    SkillStore(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE library_meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(StoreError, match="schema version 99"):
        SkillStore(path)


def test_export_import_json(tmp_path):
    source = SkillStore(tmp_path / "a.sqlite")
    source.put_many(load_seed_skills())
    source.record_use(load_seed_skills()[0].id, success=True, reward=0.75)
    document = json.loads(json.dumps(source.export_json()))
    target = SkillStore(tmp_path / "b.sqlite")
    assert target.import_json(document) == len(load_seed_skills())
    assert target.skills() == source.skills()
    document["skills"][1]["workflow"]["final"]["op"] = "exec"
    with pytest.raises(StoreError, match=r"export.json: skills\[1\] is invalid"):
        target.import_json(document, "export.json")


def test_urls_pass_through_and_paths_become_sqlite():
    assert database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("lib.sqlite").startswith("sqlite:////")


def _writer(path: str, skill_id: str, worker: int, updates: int) -> None:
    store = SkillStore(path)
    for i in range(updates):
        if i % 2 == 0:
            store.record_use(skill_id, success=(i % 4 == 0), reward=1.0)
        else:
            store.update(skill_id, lambda s: s.model_copy(update={"lessons": [s.lessons[0].model_copy(update={"occurrences": s.lessons[0].occurrences + 1})]}))
    store.close()


def test_four_processes_times_250_updates_lose_nothing(tmp_path):
    path = tmp_path / "shared.sqlite"
    store = SkillStore(path)
    skill = _skill()
    store.put(skill)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(str(path), skill.id, w, 250)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    final = store.get(skill.id)
    assert final.stats.uses == 4 * 125 and final.stats.successes == 4 * 63 and final.stats.reward_sum == pytest.approx(500.0)
    assert final.lessons[0].occurrences == 1 + 4 * 125
    assert store.integrity_errors() == []


def test_integrity_check_reports_a_corrupted_row(tmp_path):
    path = tmp_path / "lib.sqlite"
    store = SkillStore(path)
    store.put(_skill())
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE skills SET body='{\"id\": \"x\"}'")
    (error,) = store.integrity_errors()
    assert error.startswith(f"skill {_skill().id}:")


def test_statements_compile_for_postgresql():
    """The URL path: the same Core tables and statements render for PostgreSQL (row locks included)."""
    from sqlalchemy import select, update
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable

    from skill3d_eval.skills.store import metadata, skills_table

    dialect = postgresql.dialect()
    for table in metadata.sorted_tables:
        assert "CREATE TABLE" in str(CreateTable(table).compile(dialect=dialect))
    locked = str(select(skills_table.c.revision).where(skills_table.c.id == "x").with_for_update().compile(dialect=dialect))
    assert locked.endswith("FOR UPDATE")
    increment = str(update(skills_table).values(uses=skills_table.c.uses + 1).compile(dialect=dialect))
    assert "uses=(skills.uses + " in increment
