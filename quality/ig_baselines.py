"""Integrated-gradients baselines: which one puts the attribution on the object?

On the course's ImageNet samples (../shared/data/imagenet_samples, 224 x 224) with a hand-drawn box around the
labelled object (`BOXES`, below; drawn by eye on a 32-pixel grid), for each baseline: integrated gradients of the
labelled class with the saliency job's settings (adaptive rule, tol 0.01, at most 512 gradients per path), reduced
as the job shows it (|attribution|, max over R, G, B), and

- in: the fraction of the map's mass inside the box (the goal: > 0.5, i.e. more inside than outside);
- area: the box's share of the image (what a map spread evenly would score);
- x: in / area, how much denser the map is on the object than a uniform map.

    .venv/bin/python quality/ig_baselines.py [--baselines black,blur,uniform,uniform*4] [--images 1,4,13]
        [--max-steps 512] [--figure docs/images/visualize/ig_baselines.png]

A baseline is a name of `vislab.visualize.baselines.BASELINES`, optionally ``*K`` (average over K random draws)
or ``@S`` (blur width as a fraction of the side).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from vislab import backbones, paths
from vislab.images import load_image, overlay, save_image
from vislab.visualize import IntegratedGradients
from vislab.visualize.baselines import BLUR_SIGMA, make_baselines
from vislab.visualize.saliency import channel_max
from vislab.visualize.settings import SaliencySettings

# Boxes (x0, y0, x1, y1) in pixels of the 224 x 224 images, around the labelled object; images where the object
# fills the frame (car, collie, daisy, ...) or is a scene (lakeside, hay field) are left out, as a box there says
# nothing. The brown-bear image has one box per bear.
BOXES: dict[int, list[tuple[int, int, int, int]]] = {
    1: [(20, 15, 180, 118)],  # quail
    2: [(45, 0, 170, 224)],  # Tibetan mastiff
    3: [(20, 50, 170, 165)],  # Border terrier
    4: [(15, 45, 130, 180), (120, 55, 215, 224)],  # two brown bears
    5: [(60, 25, 190, 224)],  # soap dispenser
    6: [(80, 95, 150, 215)],  # man in pajamas
    7: [(35, 0, 190, 224)],  # gorilla
    9: [(66, 52, 152, 150)],  # toilet tissue roll
    13: [(55, 35, 165, 210)],  # bee eater
    17: [(78, 40, 135, 210)],  # Cardigan corgi
    18: [(50, 0, 180, 224)],  # Christmas stocking
    19: [(83, 58, 155, 190)],  # space shuttle
    21: [(35, 30, 110, 170)],  # spatula
    22: [(28, 98, 165, 200)],  # modem
    24: [(85, 140, 205, 224)],  # two black swans
}


def box_mask(boxes: list[tuple[int, int, int, int]], side: int = 224) -> torch.Tensor:
    mask = torch.zeros(side, side, dtype=torch.bool)
    for x0, y0, x1, y1 in boxes:
        mask[y0:y1, x0:x1] = True
    return mask


def parse_baseline(spec: str) -> tuple[str, int, float]:
    """"uniform*4" -> ("uniform", 4, BLUR_SIGMA); "blur@0.05" -> ("blur", 1, 0.05)."""
    name, samples, sigma = spec, 1, BLUR_SIGMA
    if "*" in name:
        name, k = name.split("*")
        samples = int(k)
    if "@" in name:
        name, s = name.split("@")
        sigma = float(s)
    return name, samples, sigma


def attribute(bb, x: torch.Tensor, target: int, spec: str, args) -> tuple[torch.Tensor, int, float]:
    """|IG| map (H, W), gradients taken and completeness error, with the job's integration settings."""
    name, samples, sigma = parse_baseline(spec)
    bases = make_baselines(x, name, samples, generator=torch.Generator().manual_seed(args.seed), blur_sigma=sigma)
    s = SaliencySettings(images=["-"])
    ig = IntegratedGradients(bb, n_steps=s.steps, method="adaptive", tol=s.tol, max_steps=args.max_steps,
                             internal_batch_size=s.batch_size)
    attr, delta = ig.attribute(x, target, bases, return_convergence_delta=True)
    gap = float(attr.sum()) - float(delta[0])
    return channel_max(attr)[0], ig.steps_used[0], abs(float(delta[0])) / max(abs(gap), 1e-12)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baselines", default="black,blur,uniform,uniform*4")
    ap.add_argument("--images", default=",".join(map(str, BOXES)))
    ap.add_argument("--max-steps", type=int, default=SaliencySettings.max_steps)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--figure", default=None, help="write the maps side by side here (PNG)")
    args = ap.parse_args()
    root = paths.data_dir()
    if root is None:
        print("needs the course images: set VISLAB_DATA to the shared data folder", file=sys.stderr)
        return 2
    labels = json.loads((root / "imagenet_samples" / "labels.json").read_text())
    bb = backbones.load("efficientnet_lite0")
    specs, ids = args.baselines.split(","), [int(i) for i in args.images.split(",")]
    results: dict[str, list[float]] = {s: [] for s in specs}
    tiles = []
    t0, c0 = time.time(), time.process_time()
    for i in ids:
        x = load_image(str(root / "imagenet_samples" / "images" / f"val25_{i:02d}.png"))[None]
        target, mask = labels[f"images/val25_{i:02d}.png"], box_mask(BOXES[i])
        line, row = f"{i:2d} {bb.class_name(target)[:18]:18s} area {float(mask.float().mean()):.2f} |", [x[0]]
        for spec in specs:
            heat, used, err = attribute(bb, x, target, spec, args)
            inside = float(heat[mask].sum() / heat.sum())
            results[spec].append(inside / float(mask.float().mean()))
            results.setdefault(spec + " in", []).append(inside)
            line += f" {spec} in {inside:.2f} ({used} grads, err {err:.1%}) |"
            row.append(overlay(x[0], heat.clamp(max=float(torch.quantile(heat.flatten(), 0.995)))))
        print(line, flush=True)
        tiles.append(row)
    print(f"\n{len(ids)} images, max {args.max_steps} gradients per path, {time.time() - t0:.0f} s wall, "
          f"{time.process_time() - c0:.0f} s CPU")
    for spec in specs:
        ins = results[spec + " in"]
        print(f"{spec:12s} mass inside the box: mean {statistics.mean(ins):.3f}, median {statistics.median(ins):.3f}, "
              f"> 0.5 in {sum(v > 0.5 for v in ins)}/{len(ins)};  density x{statistics.mean(results[spec]):.2f}")
    if args.figure:
        save_figure(tiles, ["image", *specs], args.figure)
    return 0


def save_figure(tiles: list[list[torch.Tensor]], titles: list[str], path: str) -> None:
    from vislab.tour.annotate import labeled_grid

    flat = [t for row in tiles for t in row]
    save_image(labeled_grid(flat, [[t] for _ in tiles for t in titles], ncol=len(titles)), Path(path))


if __name__ == "__main__":
    sys.exit(main())
