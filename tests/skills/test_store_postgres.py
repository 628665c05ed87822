"""The store's URL path on a real PostgreSQL server (a throwaway cluster started for the session).

Skipped, with the reason, where no PostgreSQL binaries or no `psycopg` driver are installed.
"""

from __future__ import annotations

import glob
import multiprocessing
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from skill3d_eval.skills.model import SkillStats
from skill3d_eval.skills.seeds import load_seed_skills
from skill3d_eval.skills.store import SkillStore
from tests.skills.test_store import _skill, _writer

pytestmark = pytest.mark.integration


def _binary(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


@pytest.fixture(scope="module")
def postgres_url():
    pytest.importorskip("psycopg")
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    # Not under pytest's tmp dir: that is private to its owner, and the server may run as another user.
    root = Path(tempfile.mkdtemp(prefix="skill3d-postgres-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
        shutil.chown(root, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = root / "data"
    subprocess.run([*run_as, initdb, "-D", str(data), "-A", "trust", "-U", "skills"], check=True, capture_output=True)
    options = f"-p {port} -k {root} -c listen_addresses=''"
    subprocess.run([*run_as, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://skills@/postgres?host={root}&port={port}"
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "fast", "stop"], check=True, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_same_store_code_on_postgresql(postgres_url):
    store = SkillStore(postgres_url)
    assert store.schema_version() == 2
    store.put_many(load_seed_skills())
    document = store.export_json()
    assert len(document["skills"]) == len(load_seed_skills())
    skill = _skill()
    store.put(skill)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(postgres_url, skill.id, w, 250)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    final = store.get(skill.id)
    assert final.stats.uses == 500 and final.lessons[0].occurrences == 501
    assert store.integrity_errors() == []
    store.close()


def _inserter(url: str, ids: list[str], start) -> None:
    store = SkillStore(url)
    start.wait()
    for skill_id in ids:
        store.put(_skill().model_copy(update={"id": skill_id, "stats": SkillStats(uses=1, successes=1)}))
    store.close()


def test_concurrent_first_puts_of_one_id_do_not_collide(postgres_url):
    """Row locks cannot lock a row not yet there: the insert must yield to a concurrent one, not fail."""
    ids = [f"race.{i}" for i in range(20)]
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(4)
    workers = [context.Process(target=_inserter, args=(postgres_url, ids, start)) for _ in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    store = SkillStore(postgres_url)
    assert all(store.get(skill_id).stats.uses == 1 for skill_id in ids)  # inserted once, the later puts kept its counters
    store.close()
