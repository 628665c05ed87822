"""`skill3d-eval synth ...`"""

from __future__ import annotations

import argparse
from pathlib import Path

from skill3d_eval.settings import SYNTH_ROOT


def register(commands: argparse._SubParsersAction) -> None:
    synth = commands.add_parser("synth", help="the spatial_synth benchmark").add_subparsers(dest="action", required=True)
    generate = synth.add_parser("generate", help="render scenes and write the dataset")
    generate.add_argument("--out", type=Path, default=SYNTH_ROOT)
    generate.add_argument("--scenes", type=int, default=24)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--frames", type=int, default=8)
    generate.add_argument("--width", type=int, default=256)
    generate.add_argument("--height", type=int, default=192)
    generate.set_defaults(run=_generate)


def _generate(args: argparse.Namespace) -> int:
    from skill3d_eval.synth.generate import generate

    print(generate(args.out, scenes=args.scenes, seed=args.seed, frames=args.frames, width=args.width, height=args.height))
    return 0
