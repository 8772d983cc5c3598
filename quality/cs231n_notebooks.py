"""Run the course's released assignment-3 notebooks, cell by cell, against `vislab.cs231n`.

    .venv/bin/python quality/cs231n_notebooks.py RELEASE [RELEASE ...] [--stand-ins] [--answers] [--markdown]

RELEASE is a release zip (``spring1819_assignment3.zip``, ``assignment3_jupyter.zip`` from the repository
cs231n/cs231n.github.io, folders ``assignments/2019`` and ``assignments/2020``; never committed here) or the
folder it unzips to. Each PyTorch / captioning notebook in it runs in one namespace, in the release folder (its
cells open ``gan-checks-tf.npz``, ``styles/...`` there), with exactly these changes:

* ``from cs231n`` -> ``from vislab.cs231n`` (the course's own ``cs231n`` package is blocked from importing);
* IPython-only lines (``%...``, ``!...``) are skipped; matplotlib draws off-screen (Agg);
* the 2020 StyleTransfer notebook's fill-in line ``CHECKS_PATH = None`` gets the release's checks file (the
  notebook asks the user to set it).

Each code cell is reported as

* ``ok``: it ran, and every ``... error: x`` / ``difference: x`` / ``Final loss: x`` it printed is within the
  order stated in the markdown just before it ("on the order of e-8 or less" is taken as < 1e-7, "less than
  0.001" as < 0.001);
* ``environment``: what this machine lacks, not vislab: the COCO h5 files, internet (SqueezeNet weights, COCO
  URLs, MNIST download), torchvision, ``scipy.misc.imread`` (gone from SciPy), DataLoader ``.next()`` (gone from
  PyTorch), or a name that such a cell would have defined;
* ``todo``: the 2019 notebooks' own exercise stubs (functions the student writes in the notebook, still ``pass``)
  or a name such a cell would have defined; with ``--answers`` each stub is replaced, after its cell, by
  `vislab.cs231n`'s function of the same name (2020 module layout) and the cells run on them;
* ``vislab``: anything else, i.e. vislab stops the notebook or prints a value outside the stated order.

``--stand-ins``: where the COCO files are absent, `load_coco_data` is `vislab.cs231n.coco_utils.shapes_data`
(the course's dict from vislab's shapes captioning data), so the captioning notebooks' training and sampling
cells run; and where torchvision cannot import, the NetworkVisualization notebooks get a minimal ``torchvision``
whose ``models.squeezenet1_1`` is vislab's SqueezeNet 1.1 (weights file) or else EfficientNet-Lite0 taking
SqueezeNet-normalized images, and whose ``transforms`` are the six the 2019 notebook's preprocess cells use.
Cells on stand-ins are marked ``ok*``. (The style notebooks compare SqueezeNet features with stored answers and
the GAN notebooks train on MNIST for minutes: they keep torchvision missing.) Exit status 1 when any cell is
``vislab``.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.abc
import io
import json
import os
import re
import signal
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

NOTEBOOKS = ("RNN_Captioning.ipynb", "LSTM_Captioning.ipynb", "NetworkVisualization-PyTorch.ipynb",
             "StyleTransfer-PyTorch.ipynb", "Generative_Adversarial_Networks_PyTorch.ipynb")

ENVIRONMENT = [  # (pattern on "ExceptionType: message", what is missing)
    (r"No module named 'torchvision", "torchvision"),
    (r"No module named 'tensorflow", "tensorflow"),
    (r"cannot import name 'imread' from 'scipy.misc'|scipy\.misc", "scipy.misc.imread"),
    (r"object has no attribute 'next'", "DataLoader .next()"),
    (r"coco2014_captions\.h5|vgg16_fc7|coco_captioning", "the course's COCO h5 files"),
    (r"cannot be downloaded|URLError|Name or service not known|Temporary failure in name resolution",
     "internet"),
    (r"imagenet_val_25\.npz", "imagenet_val_25.npz"),
]

STUB_MODULES = ("vislab.cs231n.net_visualization_pytorch", "vislab.cs231n.style_transfer_pytorch",
                "vislab.cs231n.gan_pytorch")


class _BlockCourse(importlib.abc.MetaPathFinder):
    """Refuse the course's own ``cs231n`` package, so every name a cell gets really comes from vislab."""

    def find_spec(self, name, path=None, target=None):
        if name == "cs231n" or name.startswith("cs231n."):
            raise ImportError(f"the course's {name} is blocked; cells import vislab.cs231n")
        return None


class CellTimeout(Exception):
    pass


@dataclass
class CellResult:
    index: int
    status: str
    detail: str = ""
    seconds: float = 0.0
    values: list = field(default_factory=list)


# -- reading and rewriting --------------------------------------------------------------------------------------

def rewrite(src: str, checks_path: str | None) -> str:
    """The runner's only changes to a cell (see the module docstring)."""
    out = []
    for line in src.splitlines():
        s = line.strip()
        if s.startswith(("%", "!")) or "get_ipython(" in line:
            continue
        line = re.sub(r"^(\s*)from cs231n(\.|\s)", r"\1from vislab.cs231n\2", line)
        line = re.sub(r"^(\s*)import cs231n\b", r"\1import vislab.cs231n as cs231n", line)
        if checks_path and re.match(r"^\s*CHECKS_PATH\s*=\s*None\s*$", line):
            line = f"CHECKS_PATH = {checks_path!r}"
        out.append(line)
    return "\n".join(out)


def stated_limits(markdown: str) -> dict[str, float]:
    """The orders the markdown before a cell states: {'error': x, 'final loss': y}."""
    limits: dict[str, float] = {}
    for m in re.finditer(r"order of\s*`?e-(\d+)`?", markdown):
        limits["error"] = max(limits.get("error", 0.0), 10.0 ** (1 - int(m.group(1))))
    for m in re.finditer(r"(?:errors?|[Ee]rror should be)\s*(?:<|less\s+than)\s*(\d*\.?\d+(?:e-?\d+)?)", markdown):
        limits["error"] = max(limits.get("error", 0.0), float(m.group(1)))
    m = re.search(r"final loss (?:of )?less than (\d*\.?\d+)", markdown)
    if m:
        limits["final loss"] = float(m.group(1))
    return limits


def printed_values(output: str) -> list[tuple[str, str, float]]:
    """(kind, line, value) for each printed error / difference / final loss line."""
    found = []
    for line in output.splitlines():
        low = line.lower()
        kind = ("final loss" if "final loss" in low else
                "error" if ("error" in low or "difference" in low) and "expected" not in low else None)
        nums = re.findall(r"[-+]?\d+\.?\d*(?:[eE][-+]?\d+)?", line)
        if kind and nums:
            found.append((kind, line.strip(), abs(float(nums[-1]))))
    return found


def assigned_names(src: str) -> set[str]:
    """Names a cell's top-level statements define (for telling later NameErrors apart)."""
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.With)):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
    return names


def stub_functions(src: str) -> set[str]:
    """Top-level functions of a cell whose body has a bare ``pass``: the 2019 notebooks' exercises."""
    try:
        tree = ast.parse(src)
    except SyntaxError:  # the 2019 GAN stubs: "nn.Sequential( pass )" until the student fills them in
        return set(re.findall(r"^def (\w+)\(", src, re.M)) if "YOUR CODE" in src else set()
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and _is_stub(n)}


def _is_stub(fn: ast.FunctionDef) -> bool:
    """A bare ``pass`` in the body, or a body that only sets names to None and returns one of them (or None)."""
    body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if any(isinstance(s, ast.Pass) for s in body):
        return True
    nones = {t.id for s in body if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant)
             and s.value.value is None for t in s.targets if isinstance(t, ast.Name)}

    def trivial(s: ast.stmt) -> bool:
        if isinstance(s, ast.Assign):
            return isinstance(s.value, ast.Constant) and s.value.value is None
        if isinstance(s, ast.Return):
            v = s.value
            return v is None or (isinstance(v, ast.Constant) and v.value is None) or \
                (isinstance(v, ast.Name) and v.id in nones)
        return False

    return bool(nones) and all(trivial(s) for s in body)


def drop_defs(src: str, names: set[str]) -> str:
    """The cell without the top-level ``def`` blocks of `names` (their answers are bound already)."""
    out, skipping = [], False
    for line in src.splitlines():
        m = re.match(r"def (\w+)\(", line)
        if m:
            skipping = m.group(1) in names
        elif skipping and line.strip() and not line[0].isspace() and not line.startswith((")", "#")):
            skipping = False
        if not skipping:
            out.append(line)
    return "\n".join(out)


# -- running ----------------------------------------------------------------------------------------------------

def _alarm(signum, frame):
    raise CellTimeout()


def classify(exc: BaseException, src: str, frames: list[str], origin: dict[str, tuple[str, int, str]],
             stubs: set[str]) -> tuple[str, str]:
    """(status, detail) of a failed cell."""
    text = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    if isinstance(exc, CellTimeout):
        return "vislab", "timed out"
    m = re.match(r"name '(\w+)' is not defined", str(exc)) if isinstance(exc, NameError) else None
    if m and m.group(1) in origin:
        status, cell, why = origin[m.group(1)]
        return status, f"needs `{m.group(1)}` (cell {cell}: {why})"
    for pattern, what in ENVIRONMENT:
        if re.search(pattern, text):
            return "environment", f"{what}: {text}"
    involved = src + "\n".join(frames)
    hit = sorted(s for s in stubs if re.search(rf"\b{s}\b", involved))
    if hit:
        return "todo", f"exercise stub {', '.join(hit)}: {text}"
    return "vislab", text


def _exec_cell(src: str, name: str, ns: dict, index: int, origin: dict, stubs: set[str], cell_src: dict
               ) -> tuple[tuple[str, str] | None, list[str]]:
    """Run a cell's top-level statements in order. A statement failing for the environment (e.g. ``import
    torchvision``) is noted and the cell goes on, so one missing package does not hide every later check;
    any other failure stops the cell, as in Jupyter. Returns ((status, detail) or None, environment notes)."""
    notes: list[str] = []
    try:
        tree = ast.parse(src)
    except SyntaxError as e:
        return ("todo" if "YOUR CODE" in src else "vislab", f"does not parse: {e.msg} (line {e.lineno})"), notes
    for stmt in tree.body:
        try:
            exec(compile(ast.Module([stmt], type_ignores=[]), name, "exec"), ns)
        except (Exception, CellTimeout) as e:  # a notebook cell may raise anything
            frames = [cell_src.get(f.filename, "") for f in traceback.extract_tb(e.__traceback__)]
            status, detail = classify(e, src, frames, origin, stubs)
            if status != "environment":
                return (status, detail), notes
            if all(_why(n) != _why(detail) for n in notes):  # one note per root cause
                notes.append(detail)
            for n in assigned_names(ast.unparse(stmt)) - set(ns):
                origin.setdefault(n, ("environment", index, _why(detail)))
    return None, notes


def _why(detail: str) -> str:
    """The root cause in a detail: what was missing, or the first error."""
    m = re.search(r"\(cell \d+: (.*?)\)$", detail)
    if m:
        return m.group(1)
    for _, what in ENVIRONMENT:
        if detail.startswith(what + ":"):
            return what
    head = detail.split(": ", 1)[0]
    return head if "(" in head else detail[:80]


def _final_losses(src: str, ns: dict, limits: dict[str, float]) -> str:
    """The 2019 notebooks state a final loss but print none: read it from the solver the cell trained."""
    lines = []
    if "final loss" in limits:
        for name in re.findall(r"(\w+_solver)\.train\(\)", src):
            history = getattr(ns.get(name), "loss_history", None)
            if history:
                lines.append(f"Final loss (read from {name}.loss_history[-1]): {float(history[-1])}")
    return "\n".join(["", *lines]) if lines else ""


def _uses_stand_in(src: str) -> bool:
    return bool(re.search(r"load_coco_data|small_data|\bdata\[|sample_coco_minibatch|_solver\b", src))


VERDICT = re.compile(r"\b(Incorrect|Correct|All tests passed|WARNING)\b")


def _check_values(output: str, limits: dict[str, float]) -> tuple[bool, list[str]]:
    """Printed values against the stated orders, and the notebooks' own verdict lines ("Correct number of
    parameters ..." / "Incorrect ..."); (all good, notes)."""
    notes, good = [], True
    for line in output.splitlines():
        m = VERDICT.search(line)
        if m:
            good &= m.group(1) not in ("Incorrect", "WARNING")
            notes.append(line.strip())
    for kind, line, value in printed_values(output):
        limit = limits.get(kind)
        if limit is None:
            notes.append(f"{line} (no stated order)")
            continue
        within = value < limit
        good &= within
        notes.append(f"{line} ({'<' if within else 'NOT <'} {limit:g})")
    return good, notes


def run_notebook(path: Path, *, answers: bool, stand_in: bool, cell_timeout: int,
                 model_stand_in: bool = False) -> list[CellResult]:
    import matplotlib.pyplot as plt

    nb = json.loads(path.read_text())
    checks = path.parent / "style-transfer-checks.npz"
    ns: dict = {"__name__": "__main__"}
    origin: dict[str, tuple[str, int, str]] = {}
    stubs: set[str] = set()
    cell_src: dict[str, str] = {}
    results: list[CellResult] = []
    markdown = ""
    limits: dict[str, float] = {}
    for i, cell in enumerate(nb["cells"]):
        raw = "".join(cell["source"])
        if cell["cell_type"] != "code":
            markdown += "\n" + raw
            continue
        if markdown.strip():  # consecutive code cells share the order the markdown above them states
            limits = stated_limits(markdown)
        markdown = ""
        src = rewrite(raw, str(checks) if checks.is_file() else None)
        if not src.strip():
            if raw.strip():
                results.append(CellResult(i, "skipped", "IPython-only lines"))
            continue
        pre_answered: set[str] = set()
        if answers and not _parses(src):  # bind the answers first, then run the cell without the broken defs
            pre_answered = _answer(ns, stub_functions(src))
            src = drop_defs(src, pre_answered)
        name = f"<{path.stem}[{i}]>"
        cell_src[name] = src
        out = io.StringIO()
        start = time.perf_counter()
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(cell_timeout)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                failure, env_notes = _exec_cell(src, name, ns, i, origin, stubs, cell_src)
        finally:
            signal.alarm(0)
            plt.close("all")
        seconds = time.perf_counter() - start
        if failure is not None:
            for n in assigned_names(src) - set(ns):
                origin.setdefault(n, (failure[0], i, _why(failure[1])))
            results.append(CellResult(i, failure[0], "; ".join([*env_notes, failure[1]]), seconds))
        elif env_notes:
            results.append(CellResult(i, "environment", "; ".join(env_notes) + " (rest of the cell ran)", seconds))
        else:
            good, notes = _check_values(out.getvalue() + _final_losses(src, ns, limits), limits)
            status = "ok" if good else "vislab"
            if status == "ok" and ((stand_in and _uses_stand_in(src)) or
                                   (model_stand_in and re.search(r"\bmodel\b", src))):
                status = "ok*"
            results.append(CellResult(i, status, "; ".join(notes), seconds, notes))
        new_stubs = stub_functions(src)
        if answers:
            answered = _answer(ns, new_stubs) | pre_answered
            new_stubs -= answered
            if answered:
                results[-1].detail = (results[-1].detail + "; " if results[-1].detail else "") + \
                    "answered by vislab: " + ", ".join(sorted(answered))
        stubs |= new_stubs
    return results


def _parses(src: str) -> bool:
    try:
        ast.parse(src)
    except SyntaxError:
        return False
    return True


def _answer(ns: dict, names: set[str]) -> set[str]:
    """Replace the notebook's stub functions by vislab.cs231n's functions of the same name."""
    import importlib

    done = set()
    for n in names:
        for mod in STUB_MODULES:
            obj = getattr(importlib.import_module(mod), n, None)
            if obj is not None:
                ns[n] = obj
                done.add(n)
                break
    return done


@contextlib.contextmanager
def coco_stand_in(enabled: bool):
    """`load_coco_data` -> `shapes_data` while a notebook runs, when asked and the COCO files are absent."""
    from vislab.cs231n import coco_utils

    real = coco_utils.load_coco_data
    active = enabled and not (coco_utils.default_base_dir() / "coco2014_captions.h5").is_file()
    if active:
        def load_coco_data(base_dir=None, max_train=None, pca_features=True):
            return coco_utils.shapes_data(max_train=max_train)

        coco_utils.load_coco_data = load_coco_data
    try:
        yield active
    finally:
        coco_utils.load_coco_data = real


def _squeezenet1_1(pretrained: bool = False, **kwargs):
    """The stand-in's ``torchvision.models.squeezenet1_1``: vislab's SqueezeNet 1.1 when a weights file is found
    (`vislab.cs231n.style_transfer_pytorch.squeezenet_weights`), else vislab's default backbone
    (EfficientNet-Lite0, offline) taking SqueezeNet-normalized images to ImageNet logits."""
    from torch import nn

    from vislab import backbones
    from vislab.backbones import squeezenet
    from vislab.cs231n import style_transfer_pytorch as st

    weights = st.squeezenet_weights()
    if weights:
        return squeezenet.build(weights, download=False).eval()
    bb = backbones.load(backbones.DEFAULT)
    return nn.Sequential(st._Renormalize(bb.mean, bb.std), bb.model).eval()


def _transforms():
    """The six torchvision transforms the 2019 notebooks' preprocess / deprocess cells use, on PIL images and
    tensors as torchvision's (Resize: shorter side, PIL bilinear; ToPILImage: ``(255 x).byte()``)."""
    import types

    import numpy as np
    import torch
    from PIL import Image

    from vislab.cs231n.image_utils import _shorter_side_to

    def compose(fs):
        def run(x):
            for f in fs:
                x = f(x)
            return x
        return run

    def normalize(mean, std):
        return lambda x: (x - torch.tensor(mean, dtype=x.dtype).view(-1, 1, 1)) / \
            torch.tensor(std, dtype=x.dtype).view(-1, 1, 1)

    def to_tensor(im):
        return torch.from_numpy(np.asarray(im.convert("RGB"), np.float32) / 255).permute(2, 0, 1)

    return types.SimpleNamespace(
        Compose=compose, Resize=lambda size: (lambda im: _shorter_side_to(im, size)), ToTensor=lambda: to_tensor,
        Normalize=normalize, Lambda=lambda f: f,
        ToPILImage=lambda: (lambda x: Image.fromarray(x.detach().mul(255).byte().permute(1, 2, 0).numpy())))


@contextlib.contextmanager
def torchvision_stand_in(enabled: bool):
    """A minimal ``torchvision`` (models.squeezenet1_1, transforms) while a notebook runs, when asked and the
    real one cannot import; yields whether it is in place."""
    import types

    try:
        import torchvision  # noqa: F401
        real = True
    except Exception:  # not installed, or built for another torch
        real = False
    if not enabled or real:
        yield False
        return
    tv = types.ModuleType("torchvision")
    tv.models = types.ModuleType("torchvision.models")
    tv.models.squeezenet1_1 = _squeezenet1_1
    tv.transforms = types.ModuleType("torchvision.transforms")
    tv.transforms.__dict__.update(vars(_transforms()))
    mods = {"torchvision": tv, "torchvision.models": tv.models, "torchvision.transforms": tv.transforms}
    saved = {k: sys.modules.get(k) for k in mods}
    sys.modules.update(mods)
    try:
        yield True
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def release_folder(arg: str, tmp: Path) -> Path:
    p = Path(arg)
    if p.suffix == ".zip":
        dest = tmp / p.stem
        with zipfile.ZipFile(p) as z:
            z.extractall(dest)
        p = dest
    hits = sorted({q.parent for q in p.rglob("*.ipynb") if "__MACOSX" not in q.parts})
    if not hits:
        raise SystemExit(f"{arg}: no notebooks in it")
    return hits[0]


# -- report -----------------------------------------------------------------------------------------------------

def report(title: str, results: list[CellResult]) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    lines = [f"#### {title}: {summary}", "", "| cell | status | s | detail |", "|---:|---|---:|---|"]
    for r in results:
        if r.status in ("ok", "ok*", "skipped") and not r.values and "answered" not in r.detail:
            continue
        detail = r.detail.replace("|", "\\|")
        lines.append(f"| {r.index} | {r.status} | {r.seconds:.1f} | {detail} |")
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("releases", nargs="+", help="release zips or the folders they unzip to")
    ap.add_argument("--notebooks", nargs="*", default=list(NOTEBOOKS), help="which notebooks (file names)")
    ap.add_argument("--stand-ins", action="store_true", help="shapes data where the COCO files are absent")
    ap.add_argument("--answers", action="store_true", help="vislab's functions for the 2019 exercise stubs")
    ap.add_argument("--cell-timeout", type=int, default=900, help="seconds per cell (default 900)")
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    sys.meta_path.insert(0, _BlockCourse())
    sys.path[:] = [p for p in sys.path if p not in ("", ".")]
    worst = 0
    here = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        for arg in args.releases:
            folder = release_folder(arg, Path(tmp))
            for name in args.notebooks:
                path = folder / name
                if not path.is_file():
                    continue
                os.chdir(folder)
                try:
                    netvis = name.startswith("NetworkVisualization")
                    with coco_stand_in(args.stand_ins) as active, \
                            torchvision_stand_in(args.stand_ins and netvis) as tv_stand_in:
                        uses_coco = "load_coco_data" in path.read_text()
                        results = run_notebook(path, answers=args.answers, stand_in=active and uses_coco,
                                               cell_timeout=args.cell_timeout, model_stand_in=tv_stand_in)
                finally:
                    os.chdir(here)
                print(report(f"{Path(arg).name} {name}", results), flush=True)
                worst = max(worst, int(any(r.status == "vislab" for r in results)))
    return worst


if __name__ == "__main__":
    sys.exit(main())
