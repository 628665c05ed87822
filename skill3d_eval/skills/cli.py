"""`skill3d-eval skills ...`: seed, evolve, freeze, export/import, check a library for leakage."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from skill3d_eval.settings import REPO_ROOT

DEFAULT_STORE = REPO_ROOT / "skill_store" / "library.sqlite"


def register(commands: argparse._SubParsersAction) -> None:
    skills = commands.add_parser("skills", help="the Skill Library").add_subparsers(dest="action", required=True)

    def on_store(name: str, help: str, run) -> argparse.ArgumentParser:
        """A subcommand that works on a skill store."""
        parser = skills.add_parser(name, help=help)
        parser.add_argument("--store", default=str(DEFAULT_STORE), help="SQLite path or SQLAlchemy URL")
        parser.set_defaults(run=run)
        return parser

    on_store("init", "create the store (migrating an old one) and load the seed skills", _init).add_argument(
        "--seeds", type=Path, default=None, help="directory of seed skill files (default: the bundled seeds)"
    )

    evolve = on_store("evolve", "promote skills and lessons from training-split trajectories", _evolve)
    evolve.add_argument("--trajectories", type=Path, nargs="+", required=True, help="trajectories.jsonl files")
    evolve.add_argument("--references", type=Path, required=True, help="the split's parquet (ground truth by row)")
    evolve.add_argument(
        "--task", default=None, help="read --references as this task of ours hands its rows to the model (e.g. spatial_synth_mmsi: options parsed from the question)"
    )
    evolve.add_argument("--split", default="train", help="the split the trajectories answered; evolution refuses any other")
    evolve.add_argument("--min-successes", type=int, default=3, help="successful trajectories a workflow needs to be promoted")
    evolve.add_argument("--success-threshold", type=float, default=0.5, help="score at which a trajectory counts as a success")
    evolve.add_argument("--clusters", type=int, default=4, help="scene clusters skills may be keyed by (k-means on the rollouts' scene descriptors)")
    evolve.add_argument("--distill-model", default=None, help="rewrite promoted skills' strategy and lessons with this model (OpenAI-compatible)")
    evolve.add_argument("--distill-base-url", default=None, help="endpoint for --distill-model (default: the SDK's OPENAI_BASE_URL)")

    rollout = skills.add_parser("rollout", help="teacher trajectories on a task's training split (any policy), for `skills evolve`")
    rollout.add_argument("--task", default="spatial_synth", help="one of our lmms-eval tasks with training data files")
    rollout.add_argument("--split", default="train", help="the training split to answer (evaluation splits are refused)")
    rollout.add_argument("--model-args", default="policy=program", help="the skill3d model's --model_args (k=v,k=v), e.g. policy=llm,base_url=...,model=...")
    rollout.add_argument("--out", type=Path, required=True, help="directory for the override task, runs and logs")
    rollout.add_argument("--limit", type=int, default=None, help="answer only the first N rows (lmms-eval --limit)")
    rollout.set_defaults(run=_rollout)

    freeze = on_store("freeze", "write an immutable, content-hashed snapshot of the active skills", _freeze)
    freeze.add_argument("--out", type=Path, default=REPO_ROOT / "skill_store" / "snapshots", help="directory the snapshot file is written to")
    freeze.add_argument("--embedder", choices=["minilm-l6-v2", "lexical-hash-384"], default="minilm-l6-v2", help="embedding of skills for retrieval")

    on_store("export", "write the store as JSON", _export).add_argument("--out", type=Path, required=True, help="JSON file to write")
    on_store("import", "add or replace skills from a JSON export", _import).add_argument("--file", type=Path, required=True, help="a `skills export` JSON file")

    leakage = skills.add_parser("check-leakage", help="refuse a library built from the evaluated split's scenes or questions")
    leakage.add_argument("--library", type=Path, required=True, help="frozen snapshot (skills freeze)")
    leakage.add_argument("--dataset", type=Path, required=True, help="the evaluated split's parquet")
    leakage.set_defaults(run=_check_leakage)


def _init(args: argparse.Namespace) -> int:
    from skill3d_eval.skills.seeds import SEED_DIR, load_seed_skills
    from skill3d_eval.skills.store import SkillStore

    store = SkillStore(args.store)
    skills = load_seed_skills(args.seeds or SEED_DIR)
    store.put_many(skills)
    print(f"{args.store}: schema v{store.schema_version()}, {len(skills)} seed skills")
    return 0


def _rollout(args: argparse.Namespace) -> int:
    from skill3d_eval.data.errors import DataError
    from skill3d_eval.skills.rollout import parse_model_args, rollout

    try:
        path = rollout(args.task, args.split, parse_model_args(args.model_args), args.out, args.limit)
    except DataError as exc:
        raise SystemExit(f"skills rollout: {exc}") from None
    print(path)
    print(f"next: skill3d-eval skills evolve --trajectories {path} --references <the {args.split} split's parquet>")
    return 0


def _evolve(args: argparse.Namespace) -> int:
    from skill3d_eval.data.errors import DataError
    from skill3d_eval.trajectory_log import read_trajectories
    from skill3d_eval.skills.evolve import EvolutionConfig, EvolutionError, evolve
    from skill3d_eval.skills.references import ReferenceMismatch, load_references, task_references
    from skill3d_eval.skills.store import SkillStore

    config = EvolutionConfig(split=args.split, min_successes=args.min_successes, success_threshold=args.success_threshold, clusters=args.clusters)
    store = SkillStore(args.store)
    try:
        trajectories = [t for path in args.trajectories for t in read_trajectories(path)]
        references = task_references(args.task, args.references) if args.task else load_references(args.references)
        report = evolve(store, trajectories, references, config)
    except (OSError, DataError, ReferenceMismatch, EvolutionError) as exc:  # a missing file, other rows, a refused split
        raise SystemExit(f"skills evolve: {exc}") from None
    if args.distill_model:
        import openai

        from skill3d_eval.skills.distill import distill

        client = openai.OpenAI(base_url=args.distill_base_url)
        for skill_id in report.promoted + report.merged:
            read = store.get(skill_id)
            store.put(distill(read, client, args.distill_model), replaces=read)
    print(json.dumps({**report.__dict__, "clusters": [c.model_dump() for c in report.clusters]}, indent=2))
    return 0


def _freeze(args: argparse.Namespace) -> int:
    from skill3d_eval.skills.embedding import embedder_named
    from skill3d_eval.skills.snapshot import freeze
    from skill3d_eval.skills.store import SkillStore

    store = SkillStore(args.store)
    print(freeze(store.skills(), embedder_named(args.embedder), args.out, store.library_version()))
    return 0


def _export(args: argparse.Namespace) -> int:
    from skill3d_eval.skills.store import SkillStore

    args.out.write_text(json.dumps(SkillStore(args.store).export_json(), indent=2, sort_keys=True) + "\n")
    return 0


def _import(args: argparse.Namespace) -> int:
    from skill3d_eval.skills.store import SkillStore

    try:
        document = json.loads(args.file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SystemExit(f"{args.file}: cannot read a skill export: {exc}") from exc
    print(f"{SkillStore(args.store).import_json(document, str(args.file))} skills imported")
    return 0


def _check_leakage(args: argparse.Namespace) -> int:
    import pandas as pd

    from skill3d_eval.skills.leakage import LeakageError, check_leakage
    from skill3d_eval.skills.snapshot import FrozenLibrary

    library = FrozenLibrary.open(args.library)
    rows = pd.read_parquet(args.dataset, columns=["id", "scene_name", "question"])
    samples = [_Row(str(r.id), str(r.question), str(r.scene_name)) for r in rows.itertuples(index=False)]
    try:
        check_leakage(library.skills, samples)
    except LeakageError as exc:
        raise SystemExit(f"{args.library} vs {args.dataset}: {exc}") from exc
    print(f"{args.library}: no overlap with {args.dataset} ({len(samples)} questions)")
    return 0


class _Row:
    def __init__(self, sample_id: str, question: str, scene: str):
        self.sample_id, self.question, self.scene = sample_id, question, scene
