"""`skill3d-eval experts serve | status | export | convert | gpu-repository`"""

from __future__ import annotations

import argparse
from collections.abc import Callable
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
    serve.add_argument("--repository", type=Path, default=MODEL_REPOSITORY, help="Triton model repository to serve")
    serve.add_argument("--experts-venv", type=Path, default=EXPERTS_VENV, help="virtualenv the Python backend runs in (numpy 1.26, torch)")
    serve.add_argument("--oracle-root", type=Path, default=SYNTH_ROOT / "oracle", help="spatial_synth oracle store the oracle backends answer from")
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
    serve.add_argument("--grpc-port", type=int, help="gRPC port (default: a free one)")
    serve.add_argument("--http-port", type=int, help="HTTP port (default: a free one)")
    serve.add_argument("--metrics-port", type=int, help="Prometheus metrics port (default: a free one)")
    serve.add_argument("--log-file", type=Path, help="tritonserver log (default: inside its temporary work directory)")
    serve.add_argument(
        "--max-input-bytes",
        type=int,
        help="largest request the server accepts, where its Triton has --http-max-input-size (default: 256 MiB)",
    )
    team = serve.add_argument_group(
        "team server", "gRPC TLS and a required header, by Triton itself (HTTP stays on 127.0.0.1 without either)"
    )
    team.add_argument("--grpc-tls-cert", type=Path, help="PEM server certificate: serve gRPC over TLS (default: plaintext)")
    team.add_argument("--grpc-tls-key", type=Path, help="PEM private key of --grpc-tls-cert")
    team.add_argument("--grpc-tls-client-ca", type=Path, help="PEM CA that client certificates must be signed by: mutual TLS (default: none)")
    team.add_argument(
        "--grpc-require-header",
        type=_key_value,
        metavar="NAME=VALUE",
        help="refuse gRPC requests (all but health) without header triton-grpc-protocol-NAME: VALUE (default: none)",
    )
    serve.set_defaults(run=_serve)

    status = experts.add_parser("status", help="models, versions, readiness and backend kind of a running Triton server")
    status.add_argument("--url", required=True, help="host:port of the server's gRPC (or, with --protocol http, HTTP) endpoint")
    status.add_argument("--protocol", choices=["grpc", "http"], default="grpc", help="protocol of --url")
    status.add_argument("--timeout-s", type=float, default=10.0, help="seconds to wait for the server")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.add_argument(
        "--header", type=_key_value, action="append", default=[], metavar="NAME=VALUE", help="header sent with every request (repeatable)"
    )
    status.add_argument("--tls-root-certificates", type=Path, help="PEM CA certificates: talk TLS to a gRPC server (default: plaintext)")
    status.add_argument("--tls-private-key", type=Path, help="PEM client key, for mutual TLS")
    status.add_argument("--tls-certificate-chain", type=Path, help="PEM client certificate chain, for mutual TLS")
    status.set_defaults(run=_status)

    export = experts.add_parser("export", help="turn a checkpoint into a new version of a model in a repository")
    export.add_argument("name", help="model (directory) in the repository, e.g. depth")
    export.add_argument("--checkpoint", type=Path, required=True, help="checkpoint directory (see experts_triton/README.md)")
    export.add_argument("--format", choices=["hf", "onnx", "torchscript"], default="hf", help="checkpoint format (reconstruction: onnx)")
    export.add_argument("--repository", type=Path, default=MODEL_REPOSITORY, help="repository that gets the new version")
    export.add_argument(
        "--param",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config parameter the checkpoint needs, written into config.pbtxt, e.g. fov_deg=60 for depth (repeatable)",
    )
    export.set_defaults(run=_export)

    train_depth = experts.add_parser(
        "train-depth", help="train a small metric Depth Anything on spatial_synth's training scenes (CPU) for the real depth backend"
    )
    train_depth.add_argument("--out", type=Path, required=True, help="checkpoint directory to write")
    train_depth.add_argument("--minutes", type=float, default=9.0, help="wall-clock training budget")
    train_depth.add_argument("--synth-root", type=Path, default=SYNTH_ROOT, help="spatial_synth data (its training split is used)")
    train_depth.add_argument(
        "--extra-scenes", type=int, default=200, help="extra training rooms rendered past the dataset's scene indices (in neither split; cached)"
    )
    train_depth.set_defaults(run=_train_depth)

    from skill3d_eval.experts import convert_cli  # convert, gpu-repository

    convert_cli.register(experts)


def _serve(args: argparse.Namespace) -> int:
    from skill3d_eval.experts.server import GrpcSecurity, TritonServer

    parameters = {"oracle_root": str(args.oracle_root.resolve()), **dict(args.param)}
    if args.backend:
        parameters["backend"] = args.backend
    options: dict[str, object] = {"max_input_bytes": args.max_input_bytes} if args.max_input_bytes else {}
    if args.grpc_tls_cert or args.grpc_tls_key:
        if not (args.grpc_tls_cert and args.grpc_tls_key):
            raise SystemExit("error: --grpc-tls-cert and --grpc-tls-key go together")
        options["grpc_security"] = GrpcSecurity(args.grpc_tls_cert, args.grpc_tls_key, args.grpc_tls_client_ca, args.grpc_require_header)
    elif args.grpc_tls_client_ca or args.grpc_require_header:
        raise SystemExit("error: --grpc-tls-client-ca and --grpc-require-header need --grpc-tls-cert/--grpc-tls-key (a header in plaintext is readable by anyone on the path)")
    server = TritonServer(
        args.repository,
        args.experts_venv,
        models=args.models,
        parameters=parameters,
        grpc_port=args.grpc_port,
        http_port=args.http_port,
        metrics_port=args.metrics_port,
        log_file=args.log_file,
        **options,
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


def reported(error_type: type[Exception], action: Callable[[], str]) -> int:
    """Exit status of a command whose expected failures are `error_type`: 0 and what `action`
    says, or 2 and `error: ...` on stderr (the message names the file or argument at fault)."""
    try:
        done = action()
    except error_type as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(done)
    return 0


def _export(args: argparse.Namespace) -> int:
    from skill3d_eval.experts.export import ExportError, export_model

    def export() -> str:
        exported = export_model(args.name, args.checkpoint, args.repository, args.format, dict(args.param))
        return f"exported {exported.name} version {exported.version} to {exported.path} (backend 'real')"

    return reported(ExportError, export)


def _train_depth(args: argparse.Namespace) -> int:
    from skill3d_eval.experts.depth_training import DepthTrainingConfig, DepthTrainingError, train_depth

    def train() -> str:
        record = train_depth(args.synth_root, args.out, DepthTrainingConfig(minutes=args.minutes, extra_scenes=args.extra_scenes))
        return (
            f"trained on {record.frames} frames of {len(record.scenes)} training scenes: {record.steps} steps in {record.seconds:.0f} s; "
            f"saved to {args.out}\nserve it: skill3d-eval experts export depth --checkpoint {args.out} --param fov_deg={record.fov_deg!r}"
        )

    return reported(DepthTrainingError, train)


def _status(args: argparse.Namespace) -> int:
    from skill3d_eval.experts.status import server_status

    from skill3d_eval.experts.transport import TLSConfig

    tls = None
    if args.tls_root_certificates or args.tls_private_key or args.tls_certificate_chain:
        tls = TLSConfig(args.tls_root_certificates, args.tls_private_key, args.tls_certificate_chain)
    report = server_status(args.url, protocol=args.protocol, timeout_s=args.timeout_s, headers=dict(args.header), tls=tls)
    if args.json:
        print(json.dumps(report.model_dump(), indent=2))
    else:
        print(report.table())
    return 0 if report.reachable else 1
