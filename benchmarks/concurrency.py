"""Wall time of many agent loops against a slow endpoint, against the ideal for each concurrency.

200 questions x 3 turns against a local OpenAI-compatible endpoint (real HTTP, separate
process) that answers every request after 200 ms. Ideal wall time at concurrency c is
N x turns x latency / c; the harness should stay within 1.2x of it at c = 32.

The endpoint is an aiohttp server (C HTTP parser, one event loop), as production endpoints are
(vLLM serves through uvicorn): it shares this machine's cores with the harness, and the test
suite's thread-per-connection scripted server spent more CPU per request than the harness
itself, which at 32 simultaneous requests turned into queueing charged to the harness.
Run: .venv/bin/python benchmarks/concurrency.py [--questions 200] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import openai
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skill3d_eval.llm import OpenAIEndpoint  # noqa: E402
from skill3d_eval.agent.loop import LLMPolicy  # noqa: E402
from skill3d_eval.records import Sample  # noqa: E402
from skill3d_eval.agent.runner import Runner  # noqa: E402
from skill3d_eval.trajectory_log import TrajectoryLog  # noqa: E402
from skill3d_eval.tools import default_toolset  # noqa: E402
from tests.support.scripted_llm import ScriptedLLM, answer, delayed, tool_call  # noqa: E402

TURNS = 3


def three_turn_script(latency: float):
    def script(messages):
        calls = sum(m["role"] == "tool" for m in messages)
        # Tool calls that the tool layer answers itself (image index out of range): no expert time.
        reply = answer("3") if calls >= TURNS - 1 else tool_call("segment_objects", {"image": 50 + calls, "prompt": "chair"})
        return delayed(reply, latency)

    return script


def serve(latency: float, port_queue: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    script = three_turn_script(latency)
    numbers = itertools.count()

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        reply = script(body["messages"])
        await asyncio.sleep(reply["delay"])
        return web.json_response(ScriptedLLM.completion(body, reply, next(numbers)))

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port = runner.addresses[0][1]
        port_queue.put(f"http://127.0.0.1:{port}/v1")
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        await runner.cleanup()

    asyncio.run(main())


def run_once(base_url: str, questions: int, concurrency: int) -> float:
    frame = np.zeros((192, 256, 3), np.uint8)
    samples = [Sample(task="bench", doc_id=i, sample_id=f"bench/test/{i}", question=f"q{i}", frames=[frame]) for i in range(questions)]
    client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
    policy = LLMPolicy(OpenAIEndpoint(client), "scripted", default_toolset(), max_turns=TURNS + 1)
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(policy, None, TrajectoryLog(Path(tmp)), run_id="bench", fingerprint="b", concurrency=concurrency, resume=False)
        started = time.perf_counter()
        trajectories = runner.run([s.identity for s in samples], lambda i: samples[i])
        elapsed = time.perf_counter() - started
    bad = [t for t in trajectories if not (t.answer == "3" and len(t.turns) == TURNS)]
    assert not bad, f"benchmark run did not complete as scripted: {len(bad)} questions, e.g. {bad[0].error}"
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    args = parser.parse_args()
    ports: multiprocessing.Queue = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(args.latency, ports, stop), daemon=True)
    server.start()
    base_url = ports.get(timeout=30)
    ratios = {}
    try:
        # floor_s: questions run in whole waves of c (ceil(N / c) waves of turns x latency), the
        # least any scheduler can reach; the target is set against ideal_s all the same.
        print(f"{'concurrency':>11} {'wall_s':>8} {'ideal_s':>8} {'floor_s':>8} {'ratio':>6}")
        for concurrency in args.concurrency:
            wall = run_once(base_url, args.questions, concurrency)
            ideal = args.questions * TURNS * args.latency / concurrency
            ratios[concurrency] = wall / ideal
            floor = math.ceil(args.questions / concurrency) * TURNS * args.latency
            print(f"{concurrency:>11} {wall:>8.2f} {ideal:>8.2f} {floor:>8.2f} {wall / ideal:>6.2f}", flush=True)
    finally:
        stop.set()
        server.join(timeout=10)
    if 32 in ratios:
        print(f"RESULT wall_over_ideal_c32 {ratios[32]:.3f} target <= 1.2 {'PASS' if ratios[32] <= 1.2 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
