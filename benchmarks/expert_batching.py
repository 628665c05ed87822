"""Dynamic batching vs one request at a time: throughput of the `depth` model at 16 concurrent clients.

Both configurations run the same `real` depth backend — a tiny randomly initialised Depth
Anything exported into a temporary copy of the repository (CPU, torch) — in one Triton
server: `depth` as the repository configures it (dynamic batching; the backend runs every
request Triton hands over in one forward pass) and `depth_single`, the same model with
dynamic batching removed, so each execute sees one request. Target: batching ≥ 2× throughput.

    .venv/bin/python benchmarks/expert_batching.py [--requests 160] [--rounds 5] [--size 96x128] [--layers 8]
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from skill3d_eval.experts import ExpertsClient, TritonServer
from skill3d_eval.experts.export import export_model
from skill3d_eval.testing.tiny_experts import tiny_depth_anything
from skill3d_eval.settings import EXPERTS_VENV, MODEL_REPOSITORY

CLIENTS = 16


def build_repository(root: Path, image_size: int, layers: int) -> Path:
    repository = root / "repository"
    repository.mkdir()
    shutil.copytree(MODEL_REPOSITORY / "depth", repository / "depth", ignore=shutil.ignore_patterns("__pycache__"))
    export_model("depth", tiny_depth_anything(root / "checkpoint", image_size=image_size, layers=layers), repository)
    shutil.copytree(repository / "depth", repository / "depth_single")
    config = (repository / "depth" / "config.pbtxt").read_text()
    single = re.sub(r"dynamic_batching\s*\{[^}]*\}", "", config).replace('name: "depth"', 'name: "depth_single"')
    (repository / "depth_single" / "config.pbtxt").write_text(single)
    return repository


def throughput(experts: ExpertsClient, model: str, images: list[np.ndarray], requests: int) -> tuple[float, float]:
    """(requests/s, mean batch size the backend saw) with CLIENTS threads."""
    def call(index: int) -> int:
        out = experts.infer(model, {"IMAGE": images[index % len(images)][None]}, ["DEPTH", "META"])
        return int(__import__("json").loads(out["META"].reshape(-1)[0])["batch_size"])

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(call, range(CLIENTS)))  # warm-up
        began = time.perf_counter()
        batches = list(pool.map(call, range(requests)))
    return requests / (time.perf_counter() - began), float(np.mean(batches))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=160, help="requests per round and configuration")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; the median round counts (the CPU is shared)")
    parser.add_argument("--layers", type=int, default=8, help="transformer blocks of the tiny backbone")
    parser.add_argument("--size", default="96x128", help="HxW of the client images")
    parser.add_argument("--model-input", type=int, default=56, help="side of the square the processor resizes to (multiple of 14)")
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.split("x"))
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(8)]
    with tempfile.TemporaryDirectory() as tmp:
        repository = build_repository(Path(tmp), args.model_input, args.layers)
        rounds: dict[str, list[tuple[float, float]]] = {"depth": [], "depth_single": []}
        with TritonServer(repository, EXPERTS_VENV, models=["depth", "depth_single"]) as server, ExpertsClient(server.grpc_url, timeout_s=120) as experts:
            for _ in range(args.rounds):
                for model in rounds:
                    rounds[model].append(throughput(experts, model, images, args.requests))
    (batched_rps, batched_mean), (single_rps, single_mean) = (sorted(rounds[m])[len(rounds[m]) // 2] for m in ("depth", "depth_single"))
    print(f"depth, backend real (tiny Depth Anything, {args.layers} blocks, {args.model_input}x{args.model_input} model input), {height}x{width} images")
    print(f"{CLIENTS} concurrent clients, {args.rounds} alternating rounds of {args.requests} requests, median round:")
    for model, measured in rounds.items():
        print(f"  rounds {model}: " + ", ".join(f"{rps:.1f}" for rps, _ in measured) + " requests/s")
    print(f"{'configuration':<34}{'requests/s':>12}{'mean batch':>12}")
    print(f"{'dynamic batching (max 8)':<34}{batched_rps:>12.1f}{batched_mean:>12.2f}")
    print(f"{'one request at a time':<34}{single_rps:>12.1f}{single_mean:>12.2f}")
    speedup = batched_rps / single_rps
    print(f"RESULT batching_throughput_speedup {speedup:.2f} target >= 2 {'PASS' if speedup >= 2 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
