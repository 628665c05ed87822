"""Expert calls per question with the run's Scene Memory and without, same answers (issue 15).

The `program` policy answers spatial_synth's test split (every question on a scene shares that
scene's frames) twice through the real Runner against one oracle Triton server: once with
scene_memory (a run-scoped `SceneMemoryStore`), once without. Expert calls are counted at the
client (requests that reached the server) and must equal the sum of the trajectories'
per-observation `expert_calls` (plus the scene descriptor's probes); the answers must be identical. Target: ratio <= 0.5.

    .venv/bin/python benchmarks/scene_memory.py [--data data/spatial_synth] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from skill3d_eval.agent.program import ProgramPolicy
from skill3d_eval.agent.runner import Runner
from skill3d_eval.experts import ExpertsClient, oracle_server
from skill3d_eval.records import Trajectory
from skill3d_eval.settings import SYNTH_ROOT
from skill3d_eval.skills.rollouts import synth_samples
from skill3d_eval.tools import SceneMemoryStore, default_toolset
from skill3d_eval.trajectory_log import TrajectoryLog

TARGET = 0.5


def answer_split(server_url: str, data: Path, work: Path, *, scene_memory: bool, concurrency: int) -> tuple[list[Trajectory], int, float, SceneMemoryStore | None]:
    identities, samples = synth_samples(data, "test")
    memory = SceneMemoryStore() if scene_memory else None
    name = "memory" if scene_memory else "plain"
    with ExpertsClient(server_url, timeout_s=60) as experts:
        runner = Runner(ProgramPolicy(default_toolset()), experts, TrajectoryLog(work / name), run_id=name, fingerprint=name,
                        concurrency=concurrency, resume=False, scene_memory=memory)
        began = time.perf_counter()
        trajectories = runner.run(identities, lambda index: samples[identities[index].doc_id])
        return sorted(trajectories, key=lambda t: t.doc_id), experts.stats.server_calls, time.perf_counter() - began, memory


def recorded_calls(trajectories: list[Trajectory]) -> int:
    return sum(t.scene_probe_expert_calls + sum(o.expert_calls or 0 for turn in t.turns for o in turn.observations) for t in trajectories)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SYNTH_ROOT)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    if not (args.data / "meta.json").is_file():
        from skill3d_eval.synth.generate import generate

        generate(args.data, progress=False)
    with tempfile.TemporaryDirectory() as tmp, oracle_server(args.data / "oracle", log_file=Path(tmp) / "triton.log") as server:
        plain, plain_calls, plain_s, _ = answer_split(server.grpc_url, args.data, Path(tmp), scene_memory=False, concurrency=args.concurrency)
        remembered, calls, memory_s, memory = answer_split(server.grpc_url, args.data, Path(tmp), scene_memory=True, concurrency=args.concurrency)
    assert [t.answer for t in remembered] == [t.answer for t in plain], "Scene Memory changed answers"
    for trajectories, client_calls in ((plain, plain_calls), (remembered, calls)):
        assert recorded_calls(trajectories) == client_calls, f"trajectories record {recorded_calls(trajectories)} expert calls, the client made {client_calls}"
    questions, scenes = len(plain), len({t.scene for t in plain})
    failed = sum(t.stop_reason == "error" for t in plain)
    observations = [o for t in remembered for turn in t.turns for o in turn.observations]
    reused = sum(o.memory.reused for o in observations if o.memory)
    recalling = sum(any(o.memory and o.memory.recalls for turn in t.turns for o in turn.observations) for t in remembered)
    print(f"spatial_synth test split: {questions} questions over {scenes} scenes ({questions / scenes:.1f} per scene, same frames within a scene), {failed} failed, concurrency {args.concurrency}")
    print(f"{'run':<16}{'expert calls':>14}{'calls/question':>16}{'seconds':>10}")
    print(f"{'without memory':<16}{plain_calls:>14}{plain_calls / questions:>16.2f}{plain_s:>10.1f}")
    print(f"{'scene_memory':<16}{calls:>14}{calls / questions:>16.2f}{memory_s:>10.1f}")
    print(f"with memory: {reused} of {len(observations)} observations reused whole, {recalling} of {questions} questions took results from memory; "
          f"store: {memory.stats.computed} computed, {memory.stats.hits} recalled, {memory.stats.shared} shared in flight, {memory.stats.evictions} evicted")
    print("answers identical: yes")
    ratio = calls / plain_calls
    print(f"RESULT scene_memory_expert_calls_ratio {ratio:.3f} target <= {TARGET} {'PASS' if ratio <= TARGET else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
