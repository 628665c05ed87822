"""spatial_synth test accuracy of the program policy: seed skills only vs the evolved library.

One run, side by side: rollouts on the train split (seed skills plus exploration skills that
try other tool chains) on a local Triton with the oracle experts, `evolve` into a store that
starts from the seeds, `freeze`, then the test split answered once with the seed library and
once with the frozen evolved library. The evolved library must not be worse on any task.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from skill3d_eval.agent.program import ProgramPolicy
from skill3d_eval.experts import ExpertsClient, oracle_server
from skill3d_eval.settings import SYNTH_ROOT
from skill3d_eval.skills.embedding import MINILM, LexicalEmbedder, embedder_named
from skill3d_eval.skills.evolve import evolve
from skill3d_eval.skills.leakage import check_leakage
from skill3d_eval.skills.rollouts import (
    accuracy_by_type,
    references_of,
    run_rollouts,
    synth_samples,
)
from skill3d_eval.skills.seeds import EXPLORE_DIR, load_seed_skills, seed_library
from skill3d_eval.skills.snapshot import FrozenLibrary, freeze
from skill3d_eval.skills.store import SkillStore
from skill3d_eval.tools import default_toolset


def main() -> int:
    if not (SYNTH_ROOT / "meta.json").is_file():
        from skill3d_eval.synth.generate import generate

        generate(SYNTH_ROOT, progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with oracle_server(SYNTH_ROOT / "oracle", log_file=work / "triton.log") as server, ExpertsClient(server.grpc_url) as client:
            train_keys, train = synth_samples(SYNTH_ROOT, "train")
            explore = FrozenLibrary.in_memory(load_seed_skills(EXPLORE_DIR), LexicalEmbedder())
            rollouts = run_rollouts(ProgramPolicy(default_toolset()), client, work / "train-seed", train_keys, train)
            rollouts += run_rollouts(ProgramPolicy(default_toolset(), explore), client, work / "train-explore", train_keys, train)
            store = SkillStore(work / "library.sqlite")
            store.put_many(load_seed_skills())
            report = evolve(store, rollouts, references_of(SYNTH_ROOT, "train"))
            print(f"evolution: promoted {report.promoted}, merged {report.merged}, retired {report.retired}, rejected {len(report.rejected)} groups")
            evolved = FrozenLibrary.open(freeze(store.skills(), embedder_named(MINILM), work / "snapshots", store.library_version()))

            test_keys, test = synth_samples(SYNTH_ROOT, "test")
            check_leakage(evolved.skills, test.values())
            references = references_of(SYNTH_ROOT, "test")
            seed_scores = accuracy_by_type(run_rollouts(ProgramPolicy(default_toolset(), seed_library()), client, work / "test-seed", test_keys, test), references)
            evolved_scores = accuracy_by_type(run_rollouts(ProgramPolicy(default_toolset(), evolved), client, work / "test-evolved", test_keys, test), references)

    print(f"{'task':<24}{'seed':>8}{'evolved':>9}")
    for task in seed_scores:
        print(f"{task:<24}{seed_scores[task]:>8.3f}{evolved_scores[task]:>9.3f}")
    print(f"evolved library sha256 {evolved.sha256}, {len(evolved.skills)} active skills")
    for task in seed_scores:
        delta = evolved_scores[task] - seed_scores[task]
        print(f"RESULT evolved_minus_seed_{task} {delta:.3f} target >= 0 {'PASS' if delta >= 0 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
