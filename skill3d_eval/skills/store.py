"""The mutable Skill Library: one SQL database, updated in transactions, never rewritten whole.

SQLAlchemy Core keeps the code dialect-neutral: a path means SQLite (WAL journal, a busy
timeout, `BEGIN IMMEDIATE` so concurrent writer processes queue instead of failing on lock
upgrade), and any SQLAlchemy URL (e.g. `postgresql+psycopg://...`) uses the same statements
with row locks (`SELECT ... FOR UPDATE`). The schema carries its version and is migrated
forward on open.

Who owns what, so that no read-modify-write loses a concurrent update:
- The usage counters (`stats`: uses, successes, reward_sum, last_used) belong to the database.
  `record_use` changes them with one `SET uses = uses + 1` statement; `put` writes them only when
  it inserts a new skill, and otherwise never writes back a stale reading of them.
- `put` owns the rest, the skill's definition (workflow, strategy, lessons, provenance, ...,
  `retired`). A blind `put(skill)` replaces it, last writer wins. A read-modify-write passes what
  it read, `put(changed, replaces=read)`: the row is locked, the definition must still equal
  `read` (else `SkillChanged`, read again), and any change to the stats is added as a difference
  (evolution merging rollout counts) onto the counters as they are now.
- `update(skill_id, change)` does the same under one lock with no retry; keep `change` short,
  since a SQLite write lock stops every other writer meanwhile.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
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
from sqlalchemy.dialects import postgresql, sqlite
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


class SkillChanged(StoreError):
    """`put(skill, replaces=read)`: the stored definition is no longer `read`; read it again and redo the change."""


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


def _definition(skill: Skill) -> Skill:
    """Everything `put` owns: the skill less its database-owned counters."""
    return skill.model_copy(update={"stats": SkillStats()})


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

    def put(self, skill: Skill, replaces: Skill | None = None) -> None:
        """Insert a skill, or replace its definition; see the module docstring for what `replaces` adds."""
        with self.transaction() as connection:
            self._put(connection, skill, replaces)

    def put_many(self, skills: Iterable[Skill], replaces: Mapping[str, Skill] | None = None) -> None:
        """`put` of each skill in one transaction; `replaces` maps ids to the versions they were read as."""
        with self.transaction() as connection:
            for skill in skills:
                self._put(connection, skill, (replaces or {}).get(skill.id))

    def _put(self, connection: Connection, skill: Skill, replaces: Skill | None) -> None:
        locked = select(skills_table).where(skills_table.c.id == skill.id).with_for_update()
        row = connection.execute(locked).first()
        if row is None:
            if replaces is not None:
                raise SkillChanged(f"put: skill {skill.id!r} is no longer in {self.url!r}")
            if self._insert(connection, skill):
                return
            row = connection.execute(locked).one()  # another writer inserted it between our select and insert
        values: dict[str, Any] = {"body": self._body(skill), "retired": skill.retired, "revision": skills_table.c.revision + 1}
        if replaces is not None:
            stored = self._skill(row)
            if _definition(stored) != _definition(replaces):
                raise SkillChanged(f"put: skill {skill.id!r} changed in {self.url!r} since it was read")
            values |= self._stats_difference(skill.id, stored.stats, replaces.stats, skill.stats)
        connection.execute(update(skills_table).where(skills_table.c.id == skill.id).values(**values))

    def _insert(self, connection: Connection, skill: Skill) -> bool:
        """Insert a new row; False where a concurrent writer's row with that id came first."""
        insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(self.url.get_backend_name())
        statement = insert(skills_table).on_conflict_do_nothing() if insert else skills_table.insert()
        stats = skill.stats
        row = {"id": skill.id, "body": self._body(skill), "retired": skill.retired, "revision": 1, "uses": stats.uses, "successes": stats.successes, "reward_sum": stats.reward_sum, "last_used": stats.last_used}
        return connection.execute(statement.values(**row)).rowcount == 1

    @staticmethod
    def _body(skill: Skill) -> str:
        return skill.model_dump_json(exclude={"stats", "retired"})

    @staticmethod
    def _stats_difference(skill_id: str, stored: SkillStats, read: SkillStats, written: SkillStats) -> dict[str, Any]:
        """The change from `read` to `written`, as column arithmetic on top of the `stored` counters (row locked)."""
        uses, successes = written.uses - read.uses, written.successes - read.successes
        try:
            SkillStats(uses=stored.uses + uses, successes=stored.successes + successes)
        except ValueError as exc:
            raise StoreError(f"put: skill {skill_id!r}: stats change (uses {uses:+d}, successes {successes:+d}) leaves invalid counters: {exc}") from exc
        values: dict[str, Any] = {
            "uses": skills_table.c.uses + uses,
            "successes": skills_table.c.successes + successes,
            "reward_sum": skills_table.c.reward_sum + (written.reward_sum - read.reward_sum),
        }
        if written.last_used != read.last_used and written.last_used is not None and (stored.last_used is None or written.last_used > stored.last_used):
            values["last_used"] = written.last_used
        return values

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
            read = self._skill(row)
            skill = change(read)
            if skill.id != skill_id:
                raise StoreError(f"update of {skill_id!r} may not change its id to {skill.id!r}")
            self._put(connection, skill, read)
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
