"""A tiny agent trained here, from scratch: the whole chain with a model that is not scripted (issue 16).

A randomly initialised Qwen3-VL with a tiny config learns, on CPU, to copy the object names of a
spatial_synth question into a Hermes `<tool_call>` and the number of the observation into its
answer. Every step is the project's real one:

1. `synth generate` a small dataset (tiny frames); its counting and absolute-distance questions,
   the two types the two offered tools answer, form the dataset the tasks below read;
2. a local Triton serves the oracle experts (`oracle_server`) for every later step;
3. the `program` policy answers the *training* split through the stock lmms-eval CLI;
4. `skill3d-eval train export --tools locate_objects,measure_distance` (split by scene into
   train / validation);
5. `build_tiny_qwen_vl` with its tokenizer trained on the export's text;
6. `python -m train.sft`, then `python -m train.grpo` (accuracy / format / tool-use rewards, tool
   rollouts on the Triton experts), both with `train/configs/*_tiny_agent.yaml`;
7. `python -m train.reward_eval` of both checkpoints on the validation split (scenes neither saw),
   with GRPO's sampling and at temperature 1;
8. lmms-eval on the *test* split: the GRPO checkpoint in-process (`llm_backend=transformers`,
   offered the same two tools), its SFT checkpoint likewise, the `chance_frequency` and
   `chance_random` baselines and the teacher's `program` policy on the same questions, each run in
   `runs/<name>/`;
9. `skill3d-eval leaderboard` over those five runs (paired against chance_frequency).

RESULT lines: the valid tool-call rate of the lmms-eval run's turns, its score minus chance on
counting + absolute distance, and the GRPO checkpoint's mean reward minus the SFT one's on the
held-out questions with GRPO's sampling. The metrics also go into the GRPO checkpoint's model card.

    .venv/bin/python benchmarks/tiny_agent.py [--work DIR] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from skill3d_eval.data.local_task import write_local_task
from skill3d_eval.evaluate import run_lmms_eval
from skill3d_eval.experts import oracle_server
from skill3d_eval.settings import REPO_ROOT
from skill3d_eval.synth.generate import GENERATOR_VERSION, generate
from skill3d_eval.testing.tiny_qwen_vl import build_tiny_qwen_vl
from skill3d_eval.trajectory_log import read_trajectories

# `train/` (the training entry points) is a directory of the checkout, not an installed package.
sys.path.insert(0, str(REPO_ROOT))
from train.model_card import add_evaluation  # noqa: E402

TYPES = ("object_counting", "object_abs_distance")
TOOLS = ("locate_objects", "measure_distance")
# Invalid calls: what the model wrote did not parse or did not pass the tool's schema.
INVALID = {"unknown_tool", "invalid_arguments"}
TARGETS = {"tiny_agent_valid_tool_call_rate": (">=", 0.9), "tiny_agent_minus_chance_frequency": (">=", 30.0), "grpo_minus_sft_reward": (">", 0.0)}
CONFIGS = REPO_ROOT / "train" / "configs"
# The system turn is the tools alone, one line each: a short prompt, the same in SFT, GRPO rollouts and evaluation.
TEMPLATE = REPO_ROOT / "train" / "templates" / "qwen3_vl_tiny_agent.jinja"
PYTHON = sys.executable
# The project's CLI of this interpreter's environment.
CLI = str(Path(PYTHON).parent / "skill3d-eval")
# The runs of the test split the leaderboard compares: the tiny agent (GRPO) and its SFT checkpoint
# beside the baselines and the teacher's own policy with the same oracle experts (the ceiling of what
# copying can reach).
LEADERBOARD = ("tiny-agent", "tiny-agent-sft", "chance_frequency", "chance_random", "program")


class Clock:
    """Wall time per stage, printed as it goes and summed for the training stages."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, stage: str, fn, *args, **kwargs):
        began = time.perf_counter()
        result = fn(*args, **kwargs)
        self.seconds[stage] = time.perf_counter() - began
        print(f"[{stage}] {self.seconds[stage]:.1f} s", flush=True)
        return result


def generate_once(out: Path, **knobs) -> None:
    """`synth generate`, unless `out` already holds this generator's dataset made with these very
    knobs (a rerun with the same `--work` then starts from the teacher; anything else regenerates)."""
    meta = out / "meta.json"
    if meta.is_file():
        made = json.loads(meta.read_text())
        if made.get("generator_version") == GENERATOR_VERSION and all(made["args"].get(key) == value for key, value in knobs.items()):
            print(f"reusing {out} (same generator and knobs)")
            return
    generate(out, progress=False, workers=2, **knobs)


def subset_dataset(source: Path, out: Path) -> Path:
    """`source`'s counting and absolute-distance rows as a dataset directory of their own, so the
    tasks, the export (which joins by row) and chance_frequency (which reads the train split) all
    read the same questions. The rows name their scene's video relative to the dataset root, and a
    symbolic link out of a media root is refused (`media.paths.confined`): the videos (a few kB
    each at this frame size) are copied."""
    (out / "data").mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        rows = pd.read_parquet(source / "data" / f"{split}.parquet")
        rows[rows["question_type"].isin(TYPES)].reset_index(drop=True).to_parquet(out / "data" / f"{split}.parquet")
    shutil.copytree(source / "videos", out / "videos", dirs_exist_ok=True)
    shutil.copy(source / "meta.json", out / "meta.json")
    return out


def task_yamls(work: Path, data: Path) -> dict[str, str]:
    """Two tasks over the subset: its training split (for the teacher) and its test split. Both
    include the local-source override of spatial_synth (its files and video root), written outside
    the include path so that lmms-eval does not register a second `spatial_synth`."""
    base = write_local_task("spatial_synth", data / "data" / "test.parquet", work / "local-task", train=data / "data" / "train.parquet", video_root=data)
    include = work / "tasks"
    include.mkdir(parents=True, exist_ok=True)
    names = {"train": "tiny_agent_train", "test": "tiny_agent_test"}
    for split, name in names.items():
        (include / f"{name}.yaml").write_text(f"include: {base}\ntask: {name}\ntest_split: {split}\n")
    return names


def run(command: Sequence[str], log: Path) -> None:
    with log.open("w") as handle:
        completed = subprocess.run(list(command), cwd=REPO_ROOT, stdout=handle, stderr=subprocess.STDOUT, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... exited {completed.returncode}; log {log}:\n{log.read_text()[-3000:]}")


def export_corpus(export: Path) -> list[str]:
    """The export's conversations and tool schemas as text: what the tokenizer should make cheap."""
    texts = []
    for line in (export / "trl" / "train.jsonl").read_text().splitlines():
        row = json.loads(line)
        texts.append(row["tools"])
        for message in row["messages"]:
            content = message.get("content")
            if isinstance(content, list):
                texts += [part["text"] for part in content if part.get("type") == "text" and part.get("text")]
            elif content:
                texts.append(content)
            for call in message.get("tool_calls") or []:
                texts.append(json.dumps({"name": call["function"]["name"], "arguments": json.loads(call["function"]["arguments"])}))
    return texts


def scored_samples(results_file: Path) -> dict[str, tuple[str, float]]:
    """Per question (doc id) its type and score, from the run's --log_samples JSONL."""
    scores = {}
    for path in results_file.parent.glob("*_samples_*.jsonl"):
        for line in path.read_text().splitlines():
            sample = json.loads(line)
            item = next(value for value in sample.values() if isinstance(value, dict) and {"question_type", "score"} <= value.keys())
            scores[str(sample["doc_id"])] = (item["question_type"], float(item["score"]))
    return scores


def valid_tool_call_rate(trajectories_file: Path) -> tuple[float, int]:
    """Of the turns that call a tool (natively or in `<tool_call>` text), the share whose every
    call parsed and passed its tool's schema."""
    calling = valid = 0
    for trajectory in read_trajectories(trajectories_file):
        for turn in trajectory.turns:
            if not turn.tool_calls and "<tool_call>" not in (turn.assistant_text or ""):
                continue
            calling += 1
            valid += bool(turn.tool_calls) and not any(o.failure in INVALID for o in turn.observations)
    return (valid / calling if calling else 0.0), calling


def result_line(name: str, value: float) -> str:
    op, target = TARGETS[name]
    ok = value >= target if op == ">=" else value > target
    return f"RESULT {name} {value:.4g} target {op} {target:g} {'PASS' if ok else 'FAIL'}"


@dataclass(frozen=True)
class Scenes:
    """Scenes per split: `train` (the teacher's; the export holds `validation` of them out for the
    reward comparison) and `test` (the lmms-eval figure)."""

    train: int
    validation: int
    test: int


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="keep everything here (default: a temporary directory, removed afterwards)")
    parser.add_argument("--train-scenes", type=int, default=300, help="spatial_synth training scenes (the teacher's, ~5 questions each)")
    parser.add_argument("--validation-scenes", type=int, default=8, help="of the training scenes, held out for the GRPO - SFT reward comparison")
    parser.add_argument("--test-scenes", type=int, default=24, help="spatial_synth test scenes (the lmms-eval figure)")
    parser.add_argument("--quick", action="store_true", help="a smoke run of the chain: few scenes, few steps (targets not expected to pass)")
    args = parser.parse_args()
    # A model this small runs thousands of sub-millisecond ops per step: with two OpenMP threads
    # each op waits for both, and on a shared 2-core machine one of them is often descheduled
    # (one SFT step of 4 examples: 2.0 s with 2 threads, 0.21 s with 1, measured under load).
    # The training and evaluation subprocesses inherit it; set it yourself to override.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    scenes = Scenes(6, 1, 2) if args.quick else Scenes(args.train_scenes, args.validation_scenes, args.test_scenes)
    with tempfile.TemporaryDirectory(prefix="tiny-agent-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        return benchmark(work.resolve(), scenes=scenes, quick=args.quick)


def benchmark(work: Path, *, scenes: Scenes, quick: bool) -> int:
    clock = Clock()
    total = scenes.train + scenes.test
    clock.run("synth generate", generate_once, work / "synth", scenes=total, test_fraction=scenes.test / total, frames=4, width=128, height=96)
    data = subset_dataset(work / "synth", work / "data")
    tasks = task_yamls(work, data)
    export, tiny, sft, grpo = work / "export", work / "tiny", work / "sft", work / "grpo"
    sft_config, grpo_config = CONFIGS / "sft_tiny_agent.yaml", CONFIGS / "grpo_tiny_agent.yaml"
    quick_sft = ["--set", "num_train_epochs=1"] if quick else []
    quick_grpo = ["--set", "max_steps=2"] if quick else []
    runs = work / "runs"

    def evaluate(stage: str, name: str, split: str, model_args: dict) -> Path:
        """One lmms-eval run in the layout the leaderboard reads: runs/<name>/{lmms_eval,trajectories}."""
        args = {"output_dir": runs / name, "run_name": "trajectories", "concurrency": 2, **model_args}
        return clock.run(stage, run_lmms_eval, [tasks[split]], args, runs / name / "lmms_eval", extra=["--include_path", str(work / "tasks")])

    with oracle_server(work / "synth" / "oracle", log_file=work / "triton.log") as server:
        url = server.grpc_url
        evaluate("teacher (program, train split)", "teacher", "train", {"policy": "program", "triton_url": url})
        clock.run("export", run, [CLI, "train", "export", str(runs / "teacher" / "trajectories" / "trajectories.jsonl"),
                                  "--out", str(export), "--dataset", str(data), "--split", "train", "--validation-fraction", str(scenes.validation / scenes.train),
                                  "--tools", ",".join(TOOLS)], work / "export.log")
        clock.run("build tiny model", build_tiny_qwen_vl, tiny, corpus=export_corpus(export), hidden_size=64, layers=2,
                  chat_template=TEMPLATE.read_text(), words_apart=True, tied_embeddings=True)
        clock.run("sft", run, [PYTHON, "-m", "train.sft", "--config", str(sft_config), "--model", str(tiny), "--data", str(export),
                               "--output-dir", str(sft), *quick_sft], work / "sft.log")
        clock.run("grpo", run, [PYTHON, "-m", "train.grpo", "--config", str(grpo_config), "--model", str(sft), "--data", str(export),
                                "--output-dir", str(grpo), "--triton-url", url, *quick_grpo], work / "grpo.log")
        # At GRPO's own sampling (the figure with a target), and at temperature 1 beside it: the
        # rollout temperature is above 1, and a gain there need not carry over (train/README.md).
        rewards, rewards_t1 = {}, {}
        for name, checkpoint in (("sft", sft), ("grpo", grpo)):
            for figures, suffix, extra in ((rewards, "", []), (rewards_t1, "_t1", ["--set", "temperature=1.0"])):
                out = work / f"reward_eval_{name}{suffix}.json"
                clock.run(f"reward eval {name}{suffix}", run, [PYTHON, "-m", "train.reward_eval", "--config", str(grpo_config), "--model", str(checkpoint),
                                                               "--data", str(export), "--triton-url", url, "--split", "validation", "--out", str(out), *extra],
                          work / f"reward_eval_{name}{suffix}.log")
                figures[name] = json.loads(out.read_text())
        agent_args = {"policy": "tool_agent", "llm_backend": "transformers", "tools": "|".join(TOOLS), "scene_memory": "false",
                      "max_turns": 3, "max_tokens": 64, "triton_url": url, "concurrency": 1}
        agent = evaluate("lmms-eval tiny agent (test)", "tiny-agent", "test", {**agent_args, "model": grpo})
        evaluate("lmms-eval tiny agent's SFT checkpoint (test)", "tiny-agent-sft", "test", {**agent_args, "model": sft})
        chance = evaluate("lmms-eval chance_frequency (test)", "chance_frequency", "test", {"policy": "chance_frequency"})
        evaluate("lmms-eval chance_random (test)", "chance_random", "test", {"policy": "chance_random"})
        evaluate("lmms-eval program (test)", "program", "test", {"policy": "program", "triton_url": url})
    clock.run("leaderboard", run, [CLI, "leaderboard", *(str(runs / name) for name in LEADERBOARD),
                                   "--reference", "chance_frequency", "--out", str(work / "leaderboard")], work / "leaderboard.log")

    agent_scores, chance_scores = scored_samples(agent), scored_samples(chance)
    assert agent_scores.keys() == chance_scores.keys(), "the two runs answered different questions"
    ids = [doc for doc, (kind, _) in agent_scores.items() if kind in TYPES]
    agent_mean = 100 * sum(agent_scores[doc][1] for doc in ids) / len(ids)
    chance_mean = 100 * sum(chance_scores[doc][1] for doc in ids) / len(ids)
    per_type = {kind: (100 * sum(agent_scores[d][1] for d in ids if agent_scores[d][0] == kind) / max(1, sum(agent_scores[d][0] == kind for d in ids)),
                       100 * sum(chance_scores[d][1] for d in ids if chance_scores[d][0] == kind) / max(1, sum(chance_scores[d][0] == kind for d in ids)))
                for kind in TYPES}
    rate, calling = valid_tool_call_rate(runs / "tiny-agent" / "trajectories" / "trajectories.jsonl")
    reward_gain = rewards["grpo"]["reward"] - rewards["sft"]["reward"]
    training = sum(clock.seconds[stage] for stage in ("build tiny model", "sft", "grpo"))
    card = add_evaluation(grpo, {
        "test_score_counting_abs_distance": agent_mean, "chance_frequency_score": chance_mean, "valid_tool_call_rate": rate,
        "validation_reward": rewards["grpo"]["reward"], "sft_validation_reward": rewards["sft"]["reward"],
        "validation_reward_temperature_1": rewards_t1["grpo"]["reward"], "sft_validation_reward_temperature_1": rewards_t1["sft"]["reward"],
    })

    print(f"\nquestions (test, counting + absolute distance): {len(ids)}; tool-calling turns: {calling}")
    print(f"{'type':<22}{'tiny agent':>12}{'chance_frequency':>18}")
    for kind, (mine, theirs) in per_type.items():
        print(f"{kind:<22}{mine:>12.1f}{theirs:>18.1f}")
    print(f"{'both':<22}{agent_mean:>12.1f}{chance_mean:>18.1f}")
    temperature = yaml.safe_load(grpo_config.read_text())["trl"].get("temperature", 1.0)
    for label, figures in ((f"GRPO's sampling, temperature {temperature}", rewards), ("temperature 1.0, no target", rewards_t1)):
        print(f"validation rewards at {label} (same prompts, same rewards):")
        for name in ("sft", "grpo"):
            parts = ", ".join(f"{k.split('/')[1]} {v:.3f}" for k, v in sorted(figures[name].items()) if k.startswith("rewards/") and k.endswith("/mean"))
            print(f"  {name:<5} reward {figures[name]['reward']:.4f} ({parts})")
    print(f"model card: {grpo / 'README.md'} (train data sha256 {card.data.train_sha256[:16]}…)")
    board = (work / "leaderboard" / "leaderboard.md").read_text()
    print(f"\nleaderboard ({work / 'leaderboard'}):\n" + board[board.index("\n## ") + 1:board.index("\n_scores in %")])
    print("wall times: " + ", ".join(f"{stage} {seconds:.0f} s" for stage, seconds in clock.seconds.items()))
    print(f"training total (build + SFT + GRPO): {training / 60:.1f} min")
    print(result_line("tiny_agent_valid_tool_call_rate", rate))
    print(result_line("tiny_agent_minus_chance_frequency", agent_mean - chance_mean))
    print(result_line("grpo_minus_sft_reward", reward_gain))
    return 0


if __name__ == "__main__":
    sys.exit(main())
