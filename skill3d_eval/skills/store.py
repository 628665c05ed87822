"""The mutable Skill Library: one SQL database, updated in transactions, never rewritten whole.

SQLAlchemy Core keeps the code dialect-neutral: a path means SQLite (WAL journal, a busy
timeout, `BEGIN IMMEDIATE` so concurrent writer processes queue instead of failing on lock
upgrade), and any SQLAlchemy URL (e.g. `postgresql+psycopg://...`) uses the same statements
with row locks (`SELECT ... FOR UPDATE`). Usage counters are updated by single `SET uses =
uses + 1` statements, so concurrent evaluators never lose an update. The schema carries its
version and is migrated forward on open.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import make_url

from skill3d_eval.skills.memory import SceneFact
from skill3d_eval.skills.model import Skill, SkillStats

SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 60_000

metadata = MetaData()
meta_table = Table("library_meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text, nullable=False))
skills_table = Table(
    "skills",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("body", Text, nullable=False),
    Column("uses", Integer, nullable=False, default=0),
    Column("successes", Integer, nullable=False, default=0),
    Column("reward_sum", Float, nullable=False, default=0.0),
    Column("last_used", DateTime(timezone=True)),
    Column("retired", Boolean, nullable=False, default=False),
    Column("revision", Integer, nullable=False, default=1),
)
scene_facts_table = Table(
    "scene_facts",
    metadata,
    Column("scene", String(256), primary_key=True),
    Column("subject", String(256), primary_key=True),
    Column("kind", String(64), primary_key=True),
    Column("body", Text, nullable=False),
)


class StoreError(Exception):
    pass


def _migrate_to_1(connection: Connection) -> None:
    meta_table.create(connection)
    skills_table.create(connection)


def _migrate_to_2(connection: Connection) -> None:
    scene_facts_table.create(connection)


MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _migrate_to_1, 2: _migrate_to_2}


def database_url(location: str | Path) -> str:
    """A path becomes a SQLite URL; a string with '://' is taken as a SQLAlchemy URL."""
    if isinstance(location, str) and "://" in location:
        return location
    return f"sqlite:///{Path(location).resolve()}"


class SkillStore:
    def __init__(self, location: str | Path):
        self.url = make_url(database_url(location))
        self.engine = self._engine()
        self._migrate()

    def _engine(self) -> Engine:
        if self.url.get_backend_name() != "sqlite":
            return create_engine(self.url, pool_pre_ping=True)
        Path(self.url.database or "").parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(self.url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "isolation_level": None})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    def _migrate(self) -> None:
        with self.transaction() as connection:
            version = 0
            if inspect(connection).has_table(meta_table.name):
                row = connection.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version")).first()
                version = int(row.value) if row else 0
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.url!r}: schema version {version} is newer than this code's {SCHEMA_VERSION}")
            for target in range(version + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[target](connection)
                self._set_meta(connection, "schema_version", str(target))
            if version == 0:
                self._set_meta(connection, "library_version", "0")

    @staticmethod
    def _set_meta(connection: Connection, key: str, value: str) -> None:
        if connection.execute(update(meta_table).where(meta_table.c.key == key).values(value=value)).rowcount == 0:
            connection.execute(meta_table.insert().values(key=key, value=value))

    def schema_version(self) -> int:
        return int(self._meta("schema_version"))

    def library_version(self) -> int:
        return int(self._meta("library_version"))

    def _meta(self, key: str) -> str:
        with self.engine.connect() as connection:
            return connection.execute(select(meta_table.c.value).where(meta_table.c.key == key)).scalar_one()

    def bump_version(self) -> int:
        with self.transaction() as connection:
            current = int(connection.execute(select(meta_table.c.value).where(meta_table.c.key == "library_version").with_for_update()).scalar_one())
            self._set_meta(connection, "library_version", str(current + 1))
            return current + 1

    def put(self, skill: Skill) -> None:
        """Insert or replace a skill (body and stats) in one transaction."""
        with self.transaction() as connection:
            self._put(connection, skill)

    def put_many(self, skills: Iterable[Skill]) -> None:
        with self.transaction() as connection:
            for skill in skills:
                self._put(connection, skill)

    def _put(self, connection: Connection, skill: Skill) -> None:
        values = {
            "body": skill.model_dump_json(exclude={"stats", "retired"}),
            "uses": skill.stats.uses,
            "successes": skill.stats.successes,
            "reward_sum": skill.stats.reward_sum,
            "last_used": skill.stats.last_used,
            "retired": skill.retired,
        }
        existing = connection.execute(select(skills_table.c.revision).where(skills_table.c.id == skill.id).with_for_update()).first()
        if existing is None:
            connection.execute(skills_table.insert().values(id=skill.id, revision=1, **values))
        else:
            connection.execute(update(skills_table).where(skills_table.c.id == skill.id).values(revision=existing.revision + 1, **values))

    def get(self, skill_id: str) -> Skill:
        with self.engine.connect() as connection:
            row = connection.execute(select(skills_table).where(skills_table.c.id == skill_id)).first()
        if row is None:
            raise StoreError(f"no skill {skill_id!r} in {self.url!r}")
        return self._skill(row)

    def skills(self, include_retired: bool = False) -> list[Skill]:
        query = select(skills_table).order_by(skills_table.c.id)
        if not include_retired:
            query = query.where(skills_table.c.retired.is_(False))
        with self.engine.connect() as connection:
            return [self._skill(row) for row in connection.execute(query)]

    @staticmethod
    def _skill(row: Any) -> Skill:
        body = json.loads(row.body)
        last_used = row.last_used.replace(tzinfo=UTC) if row.last_used and row.last_used.tzinfo is None else row.last_used
        body["stats"] = SkillStats(uses=row.uses, successes=row.successes, reward_sum=row.reward_sum, last_used=last_used)
        body["retired"] = bool(row.retired)
        return Skill.model_validate(body)

    def update(self, skill_id: str, change: Callable[[Skill], Skill]) -> Skill:
        """Read-modify-write of one skill under a write lock (BEGIN IMMEDIATE / SELECT FOR UPDATE)."""
        with self.transaction() as connection:
            row = connection.execute(select(skills_table).where(skills_table.c.id == skill_id).with_for_update()).first()
            if row is None:
                raise StoreError(f"update: no skill {skill_id!r}")
            skill = change(self._skill(row))
            if skill.id != skill_id:
                raise StoreError(f"update of {skill_id!r} may not change its id to {skill.id!r}")
            self._put(connection, skill)
            return skill

    def record_use(self, skill_id: str, success: bool, reward: float) -> None:
        """One use of a skill, applied atomically in the database: concurrent writers never lose an update."""
        with self.transaction() as connection:
            result = connection.execute(
                update(skills_table)
                .where(skills_table.c.id == skill_id)
                .values(
                    uses=skills_table.c.uses + 1,
                    successes=skills_table.c.successes + int(success),
                    reward_sum=skills_table.c.reward_sum + float(reward),
                    last_used=datetime.now(UTC),
                )
            )
            if result.rowcount != 1:
                raise StoreError(f"record_use: no skill {skill_id!r}")

    def retire(self, skill_id: str) -> None:
        with self.transaction() as connection:
            connection.execute(update(skills_table).where(skills_table.c.id == skill_id).values(retired=True, revision=skills_table.c.revision + 1))

    def put_fact(self, fact: SceneFact) -> None:
        with self.transaction() as connection:
            key = (scene_facts_table.c.scene == fact.scene) & (scene_facts_table.c.subject == fact.subject) & (scene_facts_table.c.kind == fact.kind)
            if connection.execute(update(scene_facts_table).where(key).values(body=fact.model_dump_json())).rowcount == 0:
                connection.execute(scene_facts_table.insert().values(scene=fact.scene, subject=fact.subject, kind=fact.kind, body=fact.model_dump_json()))

    def facts(self, scene: str | None = None) -> list[SceneFact]:
        query = select(scene_facts_table.c.body).order_by(scene_facts_table.c.scene, scene_facts_table.c.subject, scene_facts_table.c.kind)
        if scene is not None:
            query = query.where(scene_facts_table.c.scene == scene)
        with self.engine.connect() as connection:
            return [SceneFact.model_validate_json(body) for body in connection.execute(query).scalars()]

    def integrity_errors(self) -> list[str]:
        """Database-level check (SQLite's integrity_check) plus every row parsing as a valid skill."""
        errors: list[str] = []
        with self.engine.connect() as connection:
            if self.url.get_backend_name() == "sqlite":
                result = connection.exec_driver_sql("PRAGMA integrity_check").scalars().all()
                errors += [line for line in result if line != "ok"]
            for row in connection.execute(select(skills_table)):
                try:
                    self._skill(row)
                except ValueError as exc:
                    errors.append(f"skill {row.id}: {exc}")
        return errors

    def export_json(self) -> dict[str, Any]:
        return {
            "format": "skill3d-skills/1",
            "library_version": self.library_version(),
            "skills": [skill.model_dump(mode="json") for skill in self.skills(include_retired=True)],
            "scene_facts": [fact.model_dump(mode="json") for fact in self.facts()],
        }

    def import_json(self, document: dict[str, Any], source: str = "<json>") -> int:
        if document.get("format") != "skill3d-skills/1":
            raise StoreError(f"{source}: not a skill export (format {document.get('format')!r}, expected 'skill3d-skills/1')")
        skills = []
        for index, body in enumerate(document.get("skills", [])):
            try:
                skills.append(Skill.model_validate(body))
            except ValueError as exc:
                raise StoreError(f"{source}: skills[{index}] is invalid: {exc}") from exc
        facts = [SceneFact.model_validate(body) for body in document.get("scene_facts", [])]
        self.put_many(skills)
        for fact in facts:
            self.put_fact(fact)
        return len(skills)

    def close(self) -> None:
        self.engine.dispose()
