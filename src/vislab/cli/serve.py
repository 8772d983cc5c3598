"""vislab serve : every capability as a web page on this machine (needs the extra: pip install "vislab[serve]")."""

from __future__ import annotations

import argparse

from .common import positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="the whole toolbox as a web page on your own machine",
                       description="Start a local web server with one panel per capability (classify, saliency, "
                                   "fool, dream, style, invert, texture, caption, GAN). Every job is a run folder "
                                   "under --runs, readable by `vislab report`. Needs pip install 'vislab[serve]'.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 exposes the page "
                        "to your network, without any login)")
    p.add_argument("--port", type=port_number, default=7860, help="port (default 7860; 0: any free port)")
    p.add_argument("--runs", metavar="DIR", default="runs", help="runs folder: every job's run folder goes here, "
                   "and the history lists what is in it (default runs)")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="jobs that run at once; the rest wait in a queue (default: one per 2 CPUs this process "
                        "may use, at least 1)")
    p.add_argument("--max-memory", type=memory_size, default=None, metavar="SIZE",
                   help="most memory one job's images may need once decoded, judged from their headers before any "
                        "work, e.g. 4G or 512M; larger jobs are refused (default: half the memory available at "
                        "start)")
    p.set_defaults(func=run)


def port_number(s: str) -> int:
    v = int(s)
    if not 0 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 0 to 65535, got {s}")
    return v


def memory_size(s: str) -> int:
    from ..errors import ConfigError
    from ..serve.limits import parse_memory

    try:
        return parse_memory(s)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix(f"--max-memory {s}: ")) from None


def run(args: argparse.Namespace) -> int:
    from ..serve import serve

    serve(args.runs, host=args.host, port=args.port, workers=args.workers, max_memory=args.max_memory)
    return 0
