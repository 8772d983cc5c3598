"""The ``vislab`` command. Parses flags, calls the library, turns errors into one line; holds no logic.

Every capability in the registry (`vislab.registry`) gets its subcommand from its record (`cli.build`): flags from
its settings' fields. A module here named after the capability may add extras to that (see `cli.build`), or build
the command by hand with ``register(subparsers)`` (caption, gan); commands that are not capabilities (report,
tour, serve) are such modules. ``func`` is called with the parsed args and returns an exit status or None.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pkgutil
import signal
import sys
import traceback
from collections.abc import Sequence

from .. import __version__
from ..errors import VislabError
from ..runs import Terminated, release_run_dirs
from .common import error_words

# The commands that are not capabilities, after those (any other module here with `register` is added too).
_ORDER = ["report", "tour", "serve"]


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage errors as one ``vislab: error: ...`` line with exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"vislab: error: {message} (see `{self.prog} --help`)\n")
        sys.exit(2)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="vislab", description="Seeing and generating with neural networks.")
    parser.add_argument("--version", action="version", version=f"vislab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    modules = {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}
    taken = _add_capabilities(sub, modules)
    for name in sorted(modules - taken, key=lambda n: (_ORDER.index(n) if n in _ORDER else len(_ORDER), n)):
        module = importlib.import_module(f"{__name__}.{name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def _add_capabilities(sub: argparse._SubParsersAction, modules: set[str]) -> set[str]:
    """A subcommand per capability record; returns the modules used."""
    from ..registry import capabilities
    from .build import add_command

    taken: set[str] = set()
    for cap in capabilities():
        word, own = cap.name.split()[0], "_".join(cap.name.replace("-", " ").split())  # "gan sample": gan_sample
        hand = importlib.import_module(f"{__name__}.{word}") if word in modules else None
        if hand is not None and hasattr(hand, "register"):  # built by hand (caption, gan)
            if word not in taken:
                hand.register(sub)
            taken.add(word)
            continue
        add_command(sub, cap, importlib.import_module(f"{__name__}.{own}") if own in modules else None)
        taken.update((word, own))
    return taken


def main(argv: Sequence[str] | None = None) -> int:
    from .common import set_argv

    argv = list(sys.argv[1:] if argv is None else argv)
    set_argv([str(a) for a in argv])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    previous = _terminate_like_ctrl_c()
    try:
        return _call(args)
    finally:
        release_run_dirs()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _call(args: argparse.Namespace) -> int:
    try:
        with thread_limits(getattr(args, "threads", None)):
            return int(args.func(args) or 0)
    except VislabError as e:
        _fail(error_words(e))
    except Terminated:
        sys.stderr.write("vislab: terminated (SIGTERM); finished outputs and the last checkpoint are kept\n")
        return 143
    except KeyboardInterrupt:
        sys.stderr.write("vislab: interrupted\n")
        return 130
    except MemoryError:
        _fail("out of memory (try a smaller --image-size / --batch-size)")
    except RecursionError:
        _fail("input nested too deeply to read")
    except OSError as e:
        _fail(f"{e.filename + ': ' if getattr(e, 'filename', None) else ''}{e.strerror or e}")
    except Exception as e:  # noqa: BLE001 - last line of defence: a bug, reported in one line unless debugging
        if os.environ.get("VISLAB_DEBUG"):
            traceback.print_exc()
        sys.stderr.write(f"vislab: internal error: {type(e).__name__}: {e} (set VISLAB_DEBUG=1 for the traceback)\n")
        return 1
    return 2


def configure_threads(threads: int | None) -> None:
    """For subcommands that parse their own flags (``caption train``): size the pools for the rest of the call
    (`main` restores the earlier sizes when the command ends)."""
    from ..machine import configure_threads as configure

    configure(threads)


@contextlib.contextmanager
def thread_limits(threads: int | None):
    from ..machine import thread_limits as limits

    with limits(threads) as n:
        yield n


def _terminate_like_ctrl_c():
    """SIGTERM (a scheduler, `kill`, a closing terminal) takes the Ctrl-C path: checkpoints kept, one line, 143."""
    def handler(signum, frame):  # noqa: ARG001 - the signal module's signature
        raise Terminated()

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. called from a worker thread): leave signals alone
        return None


def _fail(message: str) -> None:
    if os.environ.get("VISLAB_DEBUG"):
        traceback.print_exc()
    sys.stderr.write(f"vislab: error: {' '.join(message.split())}\n")
    sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
