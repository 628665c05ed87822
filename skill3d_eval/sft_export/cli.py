"""`skill3d-eval train export ...`"""

from __future__ import annotations

import argparse
from pathlib import Path

from skill3d_eval.settings import SYNTH_ROOT


def register(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="training data for compact agents").add_subparsers(dest="action", required=True)
    export = train.add_parser("export", help="trajectories of a training split -> TRL and ms-swift SFT JSONL + data card")
    export.add_argument("trajectories", type=Path, nargs="+", help="trajectories.jsonl files of runs on the training split")
    export.add_argument("--out", type=Path, required=True, help="directory for the SFT JSONL files and the data card")
    export.add_argument("--dataset", type=Path, default=SYNTH_ROOT, help="dataset root with data/<split>.parquet")
    export.add_argument("--split", default="train", help="the training split the trajectories must come from")
    export.add_argument("--test-split", action="append", default=None, help="splits whose scenes must not appear (default: test)")
    export.add_argument("--validation-fraction", type=float, default=0.2, help="share of training scenes held out for validation")
    export.add_argument("--seed", type=int, default=0, help="seed of the train/validation scene split")
    export.add_argument("--include-incorrect", action="store_true", help="also keep answers the metric scores below --min-score")
    export.add_argument("--min-score", type=float, default=1.0, help="lowest metric score an answer may have to be kept")
    export.add_argument("--include-malformed", action="store_true", help="also keep unknown tools, invalid arguments, failed calls")
    export.add_argument("--max-turns", type=int, default=6, help="trajectories with more turns are left out")
    export.add_argument("--max-images", type=int, default=32, help="trajectories with more images are left out")
    export.add_argument("--tools", help="comma-separated tools offered to the trained model (default: all); calls to others are malformed")
    export.set_defaults(run=_export)


def _export(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from skill3d_eval.tools import offered_tools
    from skill3d_eval.sft_export.export import export_trajectories
    from skill3d_eval.sft_export.filters import ExportFilters
    from skill3d_eval.sft_export.rows import ExportError

    names = [name.strip() for name in args.tools.split(",") if name.strip()] if args.tools else None
    try:
        tools = offered_tools(names)
    except ValueError as exc:
        print(f"skill3d-eval train export: --tools: {exc}")
        return 2
    try:
        filters = ExportFilters(
            only_correct=not args.include_incorrect, min_score=args.min_score,
            only_well_formed=not args.include_malformed, max_turns=args.max_turns, max_images=args.max_images,
        )
        card = export_trajectories(
            args.trajectories, args.dataset, args.out, training_split=args.split,
            test_splits=tuple(args.test_split or ("test",)), filters=filters,
            validation_fraction=args.validation_fraction, seed=args.seed, tools=tools,
        )
    except (ExportError, ValidationError) as exc:
        print(f"skill3d-eval train export: {exc}")
        return 2
    print(card.markdown())
    return 0
