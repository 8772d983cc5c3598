"""vislab tour [--quick] : every capability that has a tour step, once, on built-in data, then the report page."""

from __future__ import annotations

import argparse
import sys

from .common import add_device, add_out, add_seed


def register(sub: argparse._SubParsersAction) -> None:
    from ..registry import capabilities

    names = ", ".join(c.tour.name or c.kind for c in capabilities() if c.tour is not None)
    p = sub.add_parser(
        "tour", help="run every capability once on built-in data and write a report page",
        description=f"Run each capability once on built-in data ({names}), each into its own run folder under "
                    "--out, then write OUT/index.html. Nothing is downloaded. A step that fails is reported and the "
                    "others still run.")
    p.add_argument("--quick", action="store_true", help="small settings: a few minutes on 2 CPU cores")
    add_out(p, "tour")
    p.add_argument("--steps", metavar="NAMES", default=None,
                   help="comma-separated subset of steps to run, e.g. classify,style (default: all)")
    add_seed(p)
    add_device(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..tour import run_tour

    only = [n.strip() for n in args.steps.split(",") if n.strip()] if args.steps else None
    result = run_tour(args.out, level="quick" if args.quick else "full", seed=args.seed, device=args.device,
                      only=only, overwrite=args.overwrite)
    print(f"Open {result.report.resolve().as_uri()} ({duration(result.seconds)})")
    if result.failed:
        names = ", ".join(s.name for s in result.failed)
        print(f"vislab: tour: {len(result.failed)} of {len(result.steps)} steps failed ({names}); "
              "see the report", file=sys.stderr)
        return 1
    return 0


def duration(seconds: float) -> str:
    """``2 min 09 s``; ``41 s`` under a minute."""
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"
