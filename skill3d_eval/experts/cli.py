"""`skill3d-eval experts ...`"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from skill3d_eval.settings import EXPERTS_VENV, MODEL_REPOSITORY, SYNTH_ROOT


def register(commands: argparse._SubParsersAction) -> None:
    experts = commands.add_parser("experts", help="the Triton experts").add_subparsers(dest="action", required=True)
    serve = experts.add_parser("serve", help="serve the model repository on a local Triton server until Ctrl-C / SIGTERM")
    serve.add_argument("--repository", type=Path, default=MODEL_REPOSITORY)
    serve.add_argument("--experts-venv", type=Path, default=EXPERTS_VENV)
    serve.add_argument("--oracle-root", type=Path, default=SYNTH_ROOT / "oracle")
    serve.add_argument("--grpc-port", type=int)
    serve.add_argument("--http-port", type=int)
    serve.add_argument("--log-file", type=Path)
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
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
