"""`skill3d-eval demo`: the embedded default, end to end and offline.

On spatial_synth with oracle experts on a local Triton server: roll the seed skills (and
exploration variants) out on the training split, evolve and freeze a library from those
trajectories, then evaluate the test split through the stock lmms-eval CLI with the chance
baselines, the program policy with seed skills, and the program policy with the evolved
library, and print the leaderboard comparing them (also written as Markdown, HTML and PNG).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from skill3d_eval.settings import EXPERTS_VENV, MODEL_REPOSITORY, SYNTH_ROOT


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="evolve skills on spatial_synth train, evaluate baselines and skills on test, print the leaderboard")
    demo.add_argument("--data", type=Path, default=SYNTH_ROOT, help="spatial_synth dataset root (skill3d-eval synth generate)")
    demo.add_argument("--output-dir", type=Path, default=Path("runs") / "demo", help="runs, evolved library and leaderboard are written here")
    demo.add_argument("--limit", type=int, help="evaluate only the first N test questions")
    demo.set_defaults(run=_demo)


def evolve_library(data: Path, triton_url: str, work: Path) -> Path:
    """Train-split rollouts (seed + exploration skills) → evolve → frozen snapshot path."""
    from skill3d_eval.agent.program import ProgramPolicy
    from skill3d_eval.experts import ExpertsClient
    from skill3d_eval.skills.embedding import MINILM, LexicalEmbedder, embedder_named
    from skill3d_eval.skills.evolve import evolve
    from skill3d_eval.skills.rollouts import references_of, run_rollouts, synth_samples
    from skill3d_eval.skills.seeds import EXPLORE_DIR, load_seed_skills
    from skill3d_eval.skills.snapshot import FrozenLibrary, freeze
    from skill3d_eval.skills.store import SkillStore
    from skill3d_eval.tools import default_toolset

    keys, samples = synth_samples(data, "train")
    explore = FrozenLibrary.in_memory(load_seed_skills(EXPLORE_DIR), LexicalEmbedder())
    with ExpertsClient(triton_url) as client:
        rollouts = run_rollouts(ProgramPolicy(default_toolset()), client, work / "train-seed", keys, samples)
        rollouts += run_rollouts(ProgramPolicy(default_toolset(), explore), client, work / "train-explore", keys, samples)
    store_path = work / "library.sqlite"
    store_path.unlink(missing_ok=True)
    store = SkillStore(store_path)
    store.put_many(load_seed_skills())
    report = evolve(store, rollouts, references_of(data, "train"))
    print(f"skills: {len(rollouts)} train rollouts; promoted {report.promoted}, merged {report.merged}, retired {report.retired}", flush=True)
    return freeze(store.skills(), embedder_named(MINILM), work / "snapshots", store.library_version())


def _demo(args: argparse.Namespace) -> int:
    from skill3d_eval.evaluate import run_lmms_eval
    from skill3d_eval.experts.server import TritonServer
    from skill3d_eval.leaderboard import report

    output_dir = args.output_dir.resolve()
    server = TritonServer(
        MODEL_REPOSITORY,
        EXPERTS_VENV,
        parameters={"oracle_root": str((args.data / "oracle").resolve())},
        log_file=output_dir / "triton.log",
    )
    with server:
        print(f"experts: local Triton at {server.grpc_url} (oracle backends, log {server.log_file})", flush=True)
        library = evolve_library(args.data, server.grpc_url, output_dir / "skills")
        runs = {
            "chance_random": {"policy": "chance_random"},
            "chance_frequency": {"policy": "chance_frequency"},
            "program_seed": {"policy": "program"},
            "program_evolved": {"policy": "program", "library": library},
        }
        for name, model_args in runs.items():
            run_dir = output_dir / name
            shutil.rmtree(run_dir, ignore_errors=True)  # a demo run is a fresh evaluation, not a resume
            print(f"evaluating {name} ...", flush=True)
            run_lmms_eval(
                ["spatial_synth"],
                {**model_args, "triton_url": server.grpc_url, "output_dir": run_dir, "run_name": "trajectories", "resume": False, "concurrency": 4},
                run_dir / "lmms_eval",
                limit=args.limit,
            )
    print(f"\nspatial_synth test split, oracle experts; evolved library {library.name}")
    report([output_dir / name for name in runs], output_dir / "leaderboard", reference=output_dir / "program_seed")
    print(f"leaderboard written to {output_dir / 'leaderboard'} (leaderboard.md, .html, .png)")
    return 0
