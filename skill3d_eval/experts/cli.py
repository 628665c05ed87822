"""`skill3d-eval experts serve | status | export`"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from skill3d_eval.settings import EXPERTS_VENV, MODEL_REPOSITORY, SYNTH_ROOT

if TYPE_CHECKING:
    from skill3d_eval.experts.server import TritonServer


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def register(commands: argparse._SubParsersAction) -> None:
    experts = commands.add_parser("experts", help="the Triton experts").add_subparsers(dest="action", required=True)
    serve = experts.add_parser(
        "serve",
        help="serve the model repository on a local Triton server until Ctrl-C / SIGTERM (exits 1 if the server dies)",
    )
    serve.add_argument("--repository", type=Path, default=MODEL_REPOSITORY)
    serve.add_argument("--experts-venv", type=Path, default=EXPERTS_VENV)
    serve.add_argument("--oracle-root", type=Path, default=SYNTH_ROOT / "oracle")
    serve.add_argument("--models", nargs="+", metavar="MODEL", help="models to load (default: every model of the repository)")
    serve.add_argument("--backend", help="config parameter 'backend' for every loaded model (default: each config's own)")
    serve.add_argument(
        "--param",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra config parameter for every loaded model, e.g. noise_seed=3 or depth_scale_error=0.1 (repeatable)",
    )
    serve.add_argument("--grpc-port", type=int)
    serve.add_argument("--http-port", type=int)
    serve.add_argument("--metrics-port", type=int)
    serve.add_argument("--log-file", type=Path)
    serve.add_argument(
        "--max-input-bytes",
        type=int,
        help="largest request the server accepts, where its Triton has --http-max-input-size (default: 256 MiB)",
    )
    serve.set_defaults(run=_serve)

    status = experts.add_parser("status", help="models, versions, readiness and backend kind of a running Triton server")
    status.add_argument("--url", required=True, help="host:port of the server's gRPC (or, with --protocol http, HTTP) endpoint")
    status.add_argument("--protocol", choices=["grpc", "http"], default="grpc")
    status.add_argument("--timeout-s", type=float, default=10.0)
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.set_defaults(run=_status)

    export = experts.add_parser("export", help="turn a checkpoint into a new version of a model in a repository")
    export.add_argument("name", help="model (directory) in the repository, e.g. depth")
    export.add_argument("--checkpoint", type=Path, required=True, help="checkpoint directory (see experts_triton/README.md)")
    export.add_argument("--format", choices=["hf", "onnx", "torchscript"], default="hf")
    export.add_argument("--repository", type=Path, default=MODEL_REPOSITORY)
    export.set_defaults(run=_export)


def _serve(args: argparse.Namespace) -> int:
    from skill3d_eval.experts.server import TritonServer

    parameters = {"oracle_root": str(args.oracle_root.resolve()), **dict(args.param)}
    if args.backend:
        parameters["backend"] = args.backend
    limits = {"max_input_bytes": args.max_input_bytes} if args.max_input_bytes else {}
    server = TritonServer(
        args.repository,
        args.experts_venv,
        models=args.models,
        parameters=parameters,
        grpc_port=args.grpc_port,
        http_port=args.http_port,
        metrics_port=args.metrics_port,
        log_file=args.log_file,
        **limits,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with server:
        print(
            f"triton gRPC {server.grpc_url}  HTTP {server.http_url}  metrics {server.metrics_url}  models {' '.join(server.models)}",
            flush=True,
        )
        try:
            return _supervise(server, stop)
        except KeyboardInterrupt:
            return 0


def _supervise(server: TritonServer, stop: threading.Event) -> int:
    """Until `stop`: a dead server ends the command with 1 (it must not look like a serving one);
    a model whose backend stub died is loaded again."""
    from skill3d_eval.experts.errors import ExpertServerError

    while not stop.wait(0.5):
        if not server.running():
            print(_died(server), file=sys.stderr, flush=True)
            return 1
        for name in server.dead_models():
            print(f"model {name!r}: a backend stub died (see the server log); loading it again", file=sys.stderr, flush=True)
            try:
                server.reload(name)
            except ExpertServerError as error:
                print(_died(server) if not server.running() else f"error: {error}", file=sys.stderr, flush=True)
                return 1
            print(f"model {name!r}: loaded again", file=sys.stderr, flush=True)
    return 0


def _died(server: TritonServer) -> str:
    code = server.exit_code
    how = f"exited with code {code}"
    if code is not None and code < 0:
        try:
            how = f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"was killed by signal {-code}"
    tail = server.log_tail(10)  # read now: a default log goes with the server's work directory
    return f"error: tritonserver (pid {server.pid}) died: it {how}" + (f"; the end of its log:\n{tail}" if tail else "")


def _export(args: argparse.Namespace) -> int:
    from skill3d_eval.experts.export import ExportError, export_model

    try:
        exported = export_model(args.name, args.checkpoint, args.repository, args.format)
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"exported {exported.name} version {exported.version} to {exported.path} (backend 'real')")
    return 0


def _status(args: argparse.Namespace) -> int:
    from skill3d_eval.experts.status import server_status

    report = server_status(args.url, protocol=args.protocol, timeout_s=args.timeout_s)
    if args.json:
        print(json.dumps(report.model_dump(), indent=2))
    else:
        print(report.table())
    return 0 if report.reachable else 1
