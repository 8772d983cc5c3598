"""vislab report RUN_DIR... : one self-contained HTML page from run folders."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="an HTML page from run folders (settings, images, metrics, loss curves, timing)",
        description="Render run folders as one self-contained HTML page: for each run the command and "
                    "settings, result images, metric tables, loss curves and timing. A folder of runs "
                    "(e.g. a tour) expands to the runs inside it; runs with missing or corrupt files show "
                    "as incomplete (special files, links out of the run folder and oversized files are "
                    "named, not read).")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders (or folders of run folders)")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="page to write (default: index.html in the given folder, or in the folder holding "
                        "them all)")
    p.add_argument("--embed", action="store_true",
                   help="put the images into the page itself (one file to send around) instead of linking "
                        "them")
    p.add_argument("--title", default="vislab report", help="page title (default 'vislab report')")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..report import build_report

    path = build_report(args.runs, args.output, embed=args.embed, title=args.title)
    print(path)
    return 0
