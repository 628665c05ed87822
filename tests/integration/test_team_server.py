"""A Triton shared by a team, as the README's worked example sets it up: gRPC over mutual TLS and a
required header, enforced by Triton itself (`--grpc-use-ssl-mutual`, `--grpc-restricted-protocol`;
the same 2.51 binary as NVIDIA's 24.10 container). The stock lmms-eval CLI answers through it
with `expert_headers` and `expert_tls_*`; without the header it is refused before the first
question, with Triton's reason and the header's name."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skill3d_eval.evaluate import lmms_eval_command
from skill3d_eval.experts.server import GrpcSecurity, oracle_server
from skill3d_eval.outcome import EXIT_PREFLIGHT

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make test certificates"),
]

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
CLI = str(Path(sys.executable).parent / "skill3d-eval")
TOKEN = "Bearer team-secret"
HEADER = "triton-grpc-protocol-authorization"  # what Triton checks for `--grpc-restricted-protocol=...:authorization=...`


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _certificates(directory: Path) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by the CA."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=team-ca", "-keyout", "ca.key", "-out", "ca.pem", cwd=directory)
    (directory / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, extension in (("server", ["-extfile", "server.ext"]), ("client", [])):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=directory)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", *extension, "-out", f"{name}.pem", cwd=directory)
    return directory


@pytest.fixture(scope="module")
def team_server(synth_root, tmp_path_factory):
    certificates = _certificates(tmp_path_factory.mktemp("pki"))
    security = GrpcSecurity(
        certificates / "server.pem", certificates / "server.key", client_ca=certificates / "ca.pem", header=("authorization", TOKEN)
    )
    with oracle_server(synth_root / "oracle", grpc_security=security) as server:
        yield server, certificates


def _tls_args(certificates: Path) -> dict[str, Path]:
    return {
        "expert_tls_root_certificates": certificates / "ca.pem",
        "expert_tls_private_key": certificates / "client.key",
        "expert_tls_certificate_chain": certificates / "client.pem",
    }


def _evaluate(server, model_args: dict, out: Path) -> subprocess.CompletedProcess:
    args = {"policy": "program", "triton_url": server.grpc_url, "output_dir": out / "runs", "run_name": "team", **model_args}
    command = lmms_eval_command(["spatial_synth"], args, out / "results", extra=["--limit", "3"])
    return subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=600, check=False)


def test_status_needs_the_client_certificate_and_the_header(team_server):
    server, certificates = team_server
    tls = [
        "--tls-root-certificates", str(certificates / "ca.pem"),
        "--tls-private-key", str(certificates / "client.key"),
        "--tls-certificate-chain", str(certificates / "client.pem"),
    ]
    status = [CLI, "experts", "status", "--url", server.grpc_url, "--json"]

    allowed = subprocess.run([*status, *tls, "--header", f"{HEADER}={TOKEN}"], capture_output=True, text=True, timeout=60)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    report = json.loads(allowed.stdout)
    assert {model["name"] for model in report["models"] if model["ready"]} >= {"depth", "detection", "segmentation"}

    no_header = subprocess.run([*status, *tls], capture_output=True, text=True, timeout=60)
    assert no_header.returncode == 1
    assert "expecting header 'triton-grpc-protocol-authorization'" in json.loads(no_header.stdout)["error"]

    wrong_token = subprocess.run([*status, *tls, "--header", f"{HEADER}=Bearer guess"], capture_output=True, text=True, timeout=60)
    assert wrong_token.returncode == 1

    plaintext = subprocess.run([*status, "--header", f"{HEADER}={TOKEN}"], capture_output=True, text=True, timeout=60)
    assert plaintext.returncode == 1


def test_lmms_eval_answers_through_the_team_server(team_server, tmp_path):
    server, certificates = team_server
    completed = _evaluate(server, {"expert_headers": json.dumps({HEADER: TOKEN}), **_tls_args(certificates)}, tmp_path)
    assert completed.returncode == 0, completed.stderr[-4000:]
    lines = (tmp_path / "runs" / "team" / "trajectories.jsonl").read_text().splitlines()
    trajectories = [json.loads(line) for line in lines]
    assert len(trajectories) == 3 and all(t["error"] is None for t in trajectories)
    run_info = (tmp_path / "runs" / "team" / "run_info.json").read_text()
    assert "team-secret" not in run_info  # headers are secrets: never written down


def test_without_the_header_the_run_is_refused_before_any_question(team_server, tmp_path):
    server, certificates = team_server
    completed = _evaluate(server, _tls_args(certificates), tmp_path)
    assert completed.returncode == EXIT_PREFLIGHT, completed.stderr[-4000:]
    reason = [line for line in completed.stderr.splitlines() if line.startswith("skill3d: ")][-1]
    assert "expecting header 'triton-grpc-protocol-authorization'" in reason and "expert_headers" in reason
    assert not (tmp_path / "runs" / "team" / "trajectories.jsonl").exists()


def test_bad_security_settings_are_named(tmp_path):
    with pytest.raises(Exception, match=r"certificate .*missing.pem: no such file"):
        GrpcSecurity(tmp_path / "missing.pem", tmp_path / "missing.key")
    (tmp_path / "cert.pem").write_text("x")
    (tmp_path / "key.pem").write_text("x")
    with pytest.raises(Exception, match=r"unknown gRPC protocol group\(s\) \['inferense'\]"):
        GrpcSecurity(tmp_path / "cert.pem", tmp_path / "key.pem", protocols=("inferense",))
    header_only = subprocess.run(
        [CLI, "experts", "serve", "--grpc-require-header", "authorization=x"], capture_output=True, text=True, timeout=60
    )
    assert header_only.returncode != 0 and "need --grpc-tls-cert/--grpc-tls-key" in header_only.stderr
