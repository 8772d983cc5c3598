"""Run folders made the way the capabilities make them (through `vislab.runs`), for the report tests."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import torch

from vislab import images, runs


def make_training_run(path: Path, steps: int = 120, seed: int = 0) -> Path:
    """A GAN-like run: settings, two losses and an accuracy, sample grids, a checkpoint, a text output."""
    rng = np.random.default_rng(seed)
    d = runs.make_run_dir(path, "gan")
    runs.write_config(d, {"epochs": 3, "lr": 0.0002, "model": {"kind": "dcgan", "noise_dim": 64},
                          "seed": seed}, command="vislab gan train --epochs 3")
    log = runs.MetricsLog(d)
    for s in range(steps):
        log.log(s, d_loss=float(1 / (s + 1) + 0.05 * rng.random()), g_loss=float(2 - s / steps),
                phase="train")
        if s % 40 == 39:
            log.log(s, val_acc=float(0.5 + s / (4 * steps)))
    for s in (0, 60, steps - 1):
        images.save_image(torch.rand(3, 40, 64, generator=torch.Generator().manual_seed(s)),
                          d / "samples" / f"step_{s}.png")
    runs.save_checkpoint({"w": torch.zeros(8)}, d / "checkpoint.pt", kind="gan")
    (d / "captions.txt").write_text("a red <circle> & a blue square\n", encoding="utf-8")
    return d


def make_image_run(path: Path) -> Path:
    """A one-shot run (style-transfer-like): settings, one photo result, one metrics row."""
    d = runs.make_run_dir(path, "style")
    runs.write_config(d, {"content": "sample:chelsea", "style_weight": [1e3, 1e4]},
                      command="vislab style x.jpg")
    img = images.load_image("sample:chelsea")
    images.save_image(images.resize(img, 200), d / "result.jpg")
    runs.MetricsLog(d).log(0, loss=1.5)
    return d


def make_small_run(path: Path, rows: list | None = None, config: dict | None = None) -> Path:
    """A run folder written by hand (no torch, no images): config.json and one metrics line per row. `rows`
    entries that are strings are written as they are (NaN, Infinity, broken lines)."""
    path.mkdir(parents=True, exist_ok=True)
    payload = config if config is not None else {"command": "vislab x", "vislab_version": "0", "config": {"a": 1}}
    (path / "config.json").write_text(json.dumps(payload), encoding="utf-8")
    rows = rows if rows is not None else [{"step": 0, "loss": 1}]
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    (path / "metrics.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def states(page: PageParser) -> dict[str, str]:
    """Run name -> state, from the overview table at the top of a report page."""
    return {r[1].rsplit("/", 1)[-1]: r[3] for r in page.rows if r and r[0].isdigit() and len(r) >= 4}


class PageParser(HTMLParser):
    """Collects <img> attributes, section ids and all visible text of a report page."""

    def __init__(self) -> None:
        super().__init__()
        self.imgs: list[dict] = []
        self.ids: list[str] = []
        self.text: list[str] = []
        self.rows: list[list[str]] = []  # every table row, as the text of its cells
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = []
        if tag == "img":
            self.imgs.append(a)
        if "id" in a:
            self.ids.append(a["id"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def row(self, first: str) -> list[str]:
        """The first table row whose first cell is `first`."""
        for r in self.rows:
            if r and r[0] == first:
                return r
        raise KeyError(first)

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def parse(page: Path) -> PageParser:
    p = PageParser()
    p.feed(page.read_text(encoding="utf-8"))
    return p
