"""Triton gRPC with binary tensors vs a JSON + base64 HTTP server, same model function, one run.

The original system served each expert as a Flask app taking a base64-encoded image in JSON
and returning the result as JSON lists. Here both servers run the very same depth function —
`skill3d_experts.depth.OracleDepth.predict` on a 512×512 frame registered in a temporary
oracle store (its truth is cached after the first call, so the model's own cost is a lookup
and the transport dominates) — and the client decodes the answer to a float32 depth map in
both cases. Reported: per-request latency (one client, sequential) and throughput (4 client
threads) for each, and the speedups. Target: Triton ≥ 2× faster on both.

    .venv/bin/python benchmarks/expert_transport.py [--requests 60]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import requests
from PIL import Image
from skill3d_experts.depth import OracleDepth
from skill3d_experts.oracle_store import FrameTruth, OracleStore

from skill3d_eval.experts import ExpertsClient, TritonServer
from skill3d_eval.settings import EXPERTS_VENV, MODEL_REPOSITORY

SIZE = 512
THREADS = 4


def make_store(root: Path) -> np.ndarray:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    depth = (1.0 + rng.random((SIZE, SIZE))).astype(np.float32)
    intrinsics = np.array([[400.0, 0, SIZE / 2], [0, 400.0, SIZE / 2], [0, 0, 1]], dtype=np.float32)
    OracleStore(root).put(image, FrameTruth("bench", 0, depth, np.zeros((SIZE, SIZE), np.int32), {}, intrinsics, np.eye(4, dtype=np.float32)))
    return image


class JsonDepthServer:
    """The original style: POST {"image": base64 PNG} → {"depth": [[...]], "intrinsics": [[...]]}."""

    def __init__(self, model: OracleDepth):
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                image = np.asarray(Image.open(io.BytesIO(base64.b64decode(body["image"]))).convert("RGB"))
                with lock:  # one model instance, as one Triton instance
                    prediction = model.predict(image)
                payload = json.dumps({"depth": prediction.depth.tolist(), "intrinsics": prediction.intrinsics.tolist()}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/depth"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def json_call(session: requests.Session, url: str, image: np.ndarray) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    response = session.post(url, json={"image": base64.b64encode(buffer.getvalue()).decode()}, timeout=60)
    response.raise_for_status()
    return np.asarray(response.json()["depth"], dtype=np.float32)


def measure(call, requests_count: int) -> tuple[float, float]:
    """(p50 latency ms of sequential calls, requests/s with THREADS threads)."""
    call()  # warm-up
    latencies = []
    for _ in range(requests_count):
        began = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - began) * 1000)
    began = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda _: call(), range(requests_count)))
    return statistics.median(latencies), requests_count / (time.perf_counter() - began)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        image = make_store(Path(tmp) / "oracle")
        expected = OracleDepth(OracleStore(Path(tmp) / "oracle")).predict(image).depth
        with TritonServer(MODEL_REPOSITORY, EXPERTS_VENV, models=["depth"], parameters={"oracle_root": str(Path(tmp) / "oracle")}) as server, ExpertsClient(server.grpc_url, timeout_s=60) as experts:
            json_server = JsonDepthServer(OracleDepth(OracleStore(Path(tmp) / "oracle")))
            session = requests.Session()
            session.trust_env = False  # loopback: no proxy
            try:
                assert np.array_equal(experts.depth(image).depth, expected)
                assert np.array_equal(json_call(session, json_server.url, image), expected)
                triton_p50, triton_rps = measure(lambda: experts.depth(image).depth, args.requests)
                json_p50, json_rps = measure(lambda: json_call(session, json_server.url, image), args.requests)
            finally:
                json_server.close()
                session.close()
    print(f"{SIZE}x{SIZE} RGB -> float32 depth map, {args.requests} requests each, throughput with {THREADS} client threads")
    print(f"{'transport':<28}{'p50 latency ms':>16}{'requests/s':>14}")
    print(f"{'triton gRPC binary tensors':<28}{triton_p50:>16.2f}{triton_rps:>14.1f}")
    print(f"{'JSON + base64 HTTP':<28}{json_p50:>16.2f}{json_rps:>14.1f}")
    latency_speedup, throughput_speedup = json_p50 / triton_p50, triton_rps / json_rps
    for name, value in (("transport_latency_speedup", latency_speedup), ("transport_throughput_speedup", throughput_speedup)):
        print(f"RESULT {name} {value:.2f} target >= 2 {'PASS' if value >= 2 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
