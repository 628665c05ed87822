"""`skill3d-eval demo`: the embedded default, end to end and offline.

spatial_synth's test split, the `program` policy, oracle experts on a local Triton server, the
stock lmms-eval CLI; prints the score table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from skill3d_eval.settings import EXPERTS_VENV, MODEL_REPOSITORY, SYNTH_ROOT


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="evaluate the program policy on spatial_synth with oracle experts on local Triton, offline")
    demo.add_argument("--data", type=Path, default=SYNTH_ROOT)
    demo.add_argument("--output-dir", type=Path, default=Path("runs") / "demo")
    demo.add_argument("--limit", type=int)
    demo.set_defaults(run=_demo)


def _demo(args: argparse.Namespace) -> int:
    from skill3d_eval.evaluate import run_lmms_eval, score_table
    from skill3d_eval.experts.server import TritonServer

    output_dir = args.output_dir.resolve()
    server = TritonServer(
        MODEL_REPOSITORY,
        EXPERTS_VENV,
        parameters={"oracle_root": str((args.data / "oracle").resolve())},
        log_file=output_dir / "triton.log",
    )
    with server:
        print(f"experts: local Triton at {server.grpc_url} (oracle backends, log {server.log_file})", flush=True)
        results = run_lmms_eval(
            ["spatial_synth"],
            {"policy": "program", "triton_url": server.grpc_url, "output_dir": output_dir / "trajectories", "concurrency": 4},
            output_dir / "lmms_eval",
            limit=args.limit,
        )
    print(f"\nspatial_synth (test split), program policy, oracle experts — results: {results}")
    print(score_table(results).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0
