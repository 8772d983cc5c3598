"""The README and docs stay true: every `vislab ...` command they show names a real subcommand, and every flag it
gives is one that subcommand accepts (the parsers are built from the settings, so prose written before a flag was
renamed or removed fails here)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.cli.test_flags import command_flags

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "DEVELOPERS.md", *sorted((ROOT / "docs").glob("*.md"))]
# A command starts at `vislab ` at the start of a code line (after an optional prompt) or inside backticks.
LINE = re.compile(r"^\s*(?:\$\s+)?(vislab\s[^#\n]*)")
TICKED = re.compile(r"`(vislab\s[^`]+)`")
TOP = {"--help", "-h", "--version"}


def commands(text: str) -> list[str]:
    """The vislab command lines in a markdown text: code lines (with `\\` continuations joined) and inline code."""
    found, joined, block = [], [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            block = not block
            continue
        if block:
            if joined:
                joined.append(line.strip())
            elif m := LINE.match(line):
                joined = [m.group(1).strip()]
            if joined and not joined[-1].endswith("\\"):
                found.append(" ".join(j.rstrip("\\") for j in joined))
                joined = []
        else:
            found += TICKED.findall(line)
    return found


def split(command: str) -> list[str]:
    """Shell words up to the first pipe, redirection or `&&` (what follows is another program)."""
    try:
        words = shlex.split(command, posix=True)
    except ValueError:  # an unbalanced quote in prose: take the plain words
        words = command.split()
    out = []
    for w in words:
        if w in {"|", "&&", ";", ">", "2>", "&"} or w.startswith((">", "2>")):
            break
        out.append(w)
    return out


def check(words: list[str], known: dict[str, set[str]]) -> str | None:
    """None if the command is one vislab accepts as far as flags go; else what is wrong."""
    rest = words[1:]
    if not rest or rest[0] in TOP or not re.fullmatch(r"[a-z][a-z-]*", rest[0]):
        return None  # prose or a table row that merely starts with the word "vislab"
    if rest == [rest[0]] and any(n.split()[0] == rest[0] for n in known):
        return None  # a command group named alone ("vislab gan")
    name = next((n for n in sorted(known, key=len, reverse=True) if rest[:len(n.split())] == n.split()), None)
    if name is None:
        return f"no subcommand {rest[0]!r}"
    given = {w.split("=")[0] for w in rest[len(name.split()):] if w.startswith("-") and len(w) > 1
             and not re.fullmatch(r"-[\d.,]+", w)}
    unknown = sorted(given - known[name] - TOP)
    return f"{name}: unknown {', '.join(unknown)}" if unknown else None


def known_flags() -> dict[str, set[str]]:
    return {name: {f for flag in flags if flag.startswith("-") for f in flag.split("/")}
            for name, flags in command_flags().items()}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_documented_commands_use_real_flags(doc):
    known = known_flags()
    bad = [(c, why) for c in commands(doc.read_text()) if (why := check(split(c), known))]
    assert not bad, "\n".join(f"{doc.name}: {c!r}: {why}" for c, why in bad)


def test_the_check_catches_a_wrong_flag_and_a_wrong_command():
    known = known_flags()
    assert check(split("vislab style photo.jpg sample:starry_night --image-size 256"), known) is None
    assert "unknown --colour" in check(split("vislab style photo.jpg --colour"), known)
    assert "no subcommand" in check(split("vislab stlye photo.jpg"), known)
    assert check(split("vislab gan train --epochs 2 | tee log"), known) is None
    assert "gan train: unknown --epoch" in check(split("vislab gan train --epoch 2"), known)
    md = "text `vislab fool x.png --target 1`\n```\n$ vislab caption train \\\n   --epochs 2\n```\n"
    assert commands(md) == ["vislab fool x.png --target 1", "vislab caption train  --epochs 2"]
