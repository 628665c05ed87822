"""`skill3d-eval`: data generation, expert serving, and the offline demo."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from skill3d_eval.settings import EXPERTS_VENV, MODEL_REPOSITORY, SYNTH_ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="skill3d-eval", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    synth = commands.add_parser("synth", help="the spatial_synth benchmark").add_subparsers(dest="action", required=True)
    generate = synth.add_parser("generate", help="render scenes and write the dataset")
    generate.add_argument("--out", type=Path, default=SYNTH_ROOT)
    generate.add_argument("--scenes", type=int, default=24)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--frames", type=int, default=8)
    generate.add_argument("--width", type=int, default=256)
    generate.add_argument("--height", type=int, default=192)
    generate.set_defaults(run=_synth_generate)

    experts = commands.add_parser("experts", help="the Triton experts").add_subparsers(dest="action", required=True)
    serve = experts.add_parser("serve", help="serve the model repository on a local Triton server until Ctrl-C")
    serve.add_argument("--repository", type=Path, default=MODEL_REPOSITORY)
    serve.add_argument("--experts-venv", type=Path, default=EXPERTS_VENV)
    serve.add_argument("--oracle-root", type=Path, default=SYNTH_ROOT / "oracle")
    serve.add_argument("--grpc-port", type=int)
    serve.add_argument("--http-port", type=int)
    serve.add_argument("--log-file", type=Path)
    serve.set_defaults(run=_experts_serve)

    demo = commands.add_parser("demo", help="evaluate the program policy on spatial_synth with oracle experts on local Triton")
    demo.add_argument("--data", type=Path, default=SYNTH_ROOT)
    demo.add_argument("--output-dir", type=Path, default=Path("runs") / "demo")
    demo.add_argument("--limit", type=int)
    demo.set_defaults(run=_demo)

    args = parser.parse_args(argv)
    return args.run(args)


def _synth_generate(args: argparse.Namespace) -> int:
    from skill3d_eval.synth.generate import generate

    summary = generate(args.out, scenes=args.scenes, seed=args.seed, frames=args.frames, width=args.width, height=args.height)
    print(summary)
    return 0


def _experts_serve(args: argparse.Namespace) -> int:
    from skill3d_eval.experts.server import TritonServer

    server = TritonServer(
        args.repository,
        args.experts_venv,
        parameters={"oracle_root": str(args.oracle_root.resolve())},
        grpc_port=args.grpc_port,
        http_port=args.http_port,
        log_file=args.log_file,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with server:
        print(f"triton gRPC {server.grpc_url}  HTTP {server.http_url}  metrics {server.metrics_url}", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0


def _demo(args: argparse.Namespace) -> int:
    from skill3d_eval.evaluate import run_lmms_eval, score_table
    from skill3d_eval.experts.server import TritonServer

    oracle_root = (args.data / "oracle").resolve()
    output_dir = args.output_dir.resolve()
    server = TritonServer(
        MODEL_REPOSITORY,
        EXPERTS_VENV,
        parameters={"oracle_root": str(oracle_root)},
        log_file=output_dir / "triton.log",
    )
    with server:
        print(f"experts: local Triton at {server.grpc_url} (oracle backends, log {output_dir / 'triton.log'})", flush=True)
        results = run_lmms_eval(
            ["spatial_synth"],
            {"policy": "program", "triton_url": server.grpc_url, "output_dir": output_dir / "trajectories", "concurrency": 4},
            output_dir / "lmms_eval",
            limit=args.limit,
        )
    table = score_table(results)
    print(f"\nspatial_synth (test split), program policy, oracle experts — results: {results}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
