"""No tensor is made without its inputs' device: a mechanical check of src/vislab that needs no GPU.

CI has no GPU, so a ``torch.eye(3)`` that later meets a CUDA image (the first style run on every GPU failed that
way, issue 21) passes every CPU test. This scan finds every call of a torch tensor factory in the library and
requires one of:
- a ``device=`` argument (``torch.eye(3, device=x.device)``),
- an immediate ``.to(...)`` (``torch.rand(shape, generator=cpu_gen).to(x)``: a seeded CPU draw, the same numbers
  on every device), or
- a ``# device: cpu-ok (why)`` comment on the call's statement or the line above it (or above a ``def``: the
  whole function), for code that is CPU by nature (decoding files, numpy bridges, checkpoint I/O, CPU-side
  index bookkeeping). The reason is required.
``*_like`` and ``x.new_*`` take their device from a tensor and are not factories here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "vislab"

FACTORIES = {
    "tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "eye", "arange", "range", "linspace",
    "logspace", "rand", "randn", "randint", "randperm", "normal", "scalar_tensor", "tril_indices", "triu_indices",
    "hann_window", "hamming_window", "empty_strided", "sparse_coo_tensor", "complex", "polar",
}
ALLOW = re.compile(r"#\s*device:\s*cpu-ok\s*\((?P<why>[^)]{8,})\)")
# The numpy layers of the course (nn/) never touch torch; everything else is scanned.


def _torch_factory(node: ast.Call) -> str | None:
    f = node.func
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "torch" \
            and f.attr in FACTORIES:
        return f.attr
    return None


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _moved_at_once(node: ast.Call, parents: dict[ast.AST, ast.AST]) -> bool:
    """``torch.x(...).to(...)``: the factory's result goes straight to a chosen device."""
    p = parents.get(node)
    return isinstance(p, ast.Attribute) and p.attr == "to" and isinstance(parents.get(p), ast.Call)


def _statement(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> tuple[int, int]:
    """The lines of the simple statement holding `node` (the header only, for an if/for/with/def)."""
    while not isinstance(node, ast.stmt) and node in parents:
        node = parents[node]
    last = node.end_lineno or node.lineno
    body = getattr(node, "body", None)
    if isinstance(body, list) and body:
        last = body[0].lineno - 1
    return node.lineno, last


def _allowed(lines: list[str], node: ast.Call, parents: dict[ast.AST, ast.AST]) -> bool:
    """A reasoned ``# device: cpu-ok (...)`` on the call's statement or the line above it, or above the ``def``
    of a function that is CPU-only as a whole."""
    first, last = _statement(node, parents)
    spans = [(min(first, node.lineno), max(last, node.end_lineno or node.lineno))]
    a = node
    while a in parents:
        a = parents[a]
        if isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef)):
            top = min([a.lineno] + [d.lineno for d in a.decorator_list])
            spans.append((top, a.body[0].lineno - 1))
    return any(ALLOW.search(lines[i - 1]) for f, la in spans for i in range(max(1, f - 1), la + 1))


def offending_calls(path: Path) -> list[str]:
    """``file:line torch.name(...)`` for each factory call in `path` without a device, a move or a reason."""
    text = path.read_text()
    tree, lines = ast.parse(text, str(path)), text.splitlines()
    parents = _parents(tree)
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or (name := _torch_factory(node)) is None:
            continue
        named = any(k.arg == "device" for k in node.keywords)
        if named or _moved_at_once(node, parents) or _allowed(lines, node, parents):
            continue
        shown = path.relative_to(SRC.parent) if path.is_relative_to(SRC.parent) else path
        bad.append(f"{shown}:{node.lineno} torch.{name}(...)")
    return bad


def test_every_tensor_factory_in_the_library_names_its_device():
    bad = [b for p in sorted(SRC.rglob("*.py")) for b in offending_calls(p)]
    assert not bad, ("tensor factories without device= (add device=<input>.device, .to(...), or "
                     "'# device: cpu-ok (why)' for CPU-only code):\n" + "\n".join(bad))


@pytest.mark.parametrize("snippet, flagged", [
    ("import torch\ndef f(x):\n    return torch.eye(3, dtype=torch.float64) @ x\n", True),  # match_colors as it was
    ("import torch\ndef f(x):\n    return torch.eye(3, dtype=x.dtype, device=x.device) @ x\n", False),
    ("import torch\nM = torch.tensor([[1.0]])\n", True),
    ("import torch\ndef f(x, g):\n    return torch.rand(x.shape, generator=g).to(x)\n", False),
    ("import torch\ndef f(a):\n    return torch.from_numpy(a)  # device: cpu-ok (decoded file bytes)\n", False),
    ("import torch\ndef f(a):\n    return torch.from_numpy(a)  # device: cpu-ok\n", True),  # a reason is required
    ("import torch\ndef f(a):\n    return torch.zeros_like(a) + a.new_zeros(3)\n", False),
    ("import torch\n# device: cpu-ok (host-side bookkeeping)\ndef f(n):\n    return torch.arange(n)\n", False),
])
def test_the_scan_flags_what_it_should(tmp_path, snippet, flagged):
    p = tmp_path / "probe.py"
    p.write_text(snippet)
    assert bool(offending_calls(p)) is flagged

