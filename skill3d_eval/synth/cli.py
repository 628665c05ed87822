"""`skill3d-eval synth ...`"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from skill3d_eval.settings import SYNTH_ROOT


def register(commands: argparse._SubParsersAction) -> None:
    synth = commands.add_parser("synth", help="the spatial_synth benchmark").add_subparsers(dest="action", required=True)
    generate = synth.add_parser("generate", help="render scenes and write the dataset")
    generate.add_argument("--out", type=Path, default=SYNTH_ROOT, help="dataset root to write (data/, scenes/, oracle/, meta.json)")
    generate.add_argument("--scenes", type=int, default=24, help="rooms to render, split by scene into train and test")
    generate.add_argument("--seed", type=int, default=0, help="same seed, same scenes and questions")
    generate.add_argument("--frames", type=int, default=32, help="frames of each scene's video (camera views along its path)")
    generate.add_argument("--width", type=int, default=640, help="frame width in pixels (even)")
    generate.add_argument("--height", type=int, default=480, help="frame height in pixels (even)")
    generate.add_argument("--min-objects", type=int, default=4, help="clutter: fewest objects per room")
    generate.add_argument("--max-objects", type=int, default=10, help="clutter: most objects per room (<= 10)")
    generate.add_argument(
        "--min-visible-pixels", type=int, default=30, help="occlusion: pixels each object must show in --min-views frames"
    )
    generate.add_argument("--min-views", type=int, default=2, help="frames each object must be visible in")
    generate.add_argument("--test-fraction", type=float, default=1 / 3, help="share of scenes in the test split")
    generate.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes rendering scenes (any number writes the same dataset)"
    )
    generate.set_defaults(run=_generate)


def _generate(args: argparse.Namespace) -> int:
    from skill3d_eval.synth.generate import generate

    summary = generate(
        args.out,
        scenes=args.scenes,
        seed=args.seed,
        frames=args.frames,
        width=args.width,
        height=args.height,
        test_fraction=args.test_fraction,
        min_objects=args.min_objects,
        max_objects=args.max_objects,
        min_visible_pixels=args.min_visible_pixels,
        min_views_per_object=args.min_views,
        workers=args.workers,
    )
    print(summary)
    return 0
