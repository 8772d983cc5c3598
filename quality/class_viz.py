"""Class visualization quality, before and after the Fourier defaults changed: is the image classified as the
class when rescaled and shifted (more than a brittle adversarial pattern), and is it colourful?

For each class and each configuration, `create_class_visualization`, then
- p: the target's probability for the final image as saved (8-bit);
- p moved: the same after a random 0.9x-1.1x rescale (antialiased resize, then center crop or mirror
  padding back) and an 8-pixel shift in a random direction (mirror padding), done with other code than the one
  used during optimization;
- sat: mean HSV saturation, (max - min) / max over R, G, B, averaged over pixels (photos of the classes score
  about 0.2-0.5; a washed-out grey image near 0.1).
Configurations: `before` is the old Fourier default (Adam lr 0.05, lucid's 1/f spectrum, views zoomed 0.9-1.1x
and turned +-10 degrees), `after` the current one (`FourierParameterization()`), `pixel` the classic loop.

    .venv/bin/python quality/class_viz.py [--classes flamingo,tarantula,goldfish] [--configs before,after]
        [--size 224] [--steps 200] [--seed 0] [--save DIR]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F

from vislab import backbones
from vislab.images import resize, save_image
from vislab.tour.annotate import labeled_grid
from vislab.visualize import FourierParameterization, PixelParameterization, create_class_visualization


@dataclass(kw_only=True)
class BeforeFourier(FourierParameterization):
    """The Fourier defaults before issue 14."""

    lr: float = 0.05
    decay_power: ClassVar[float] = 1.0
    zoom: ClassVar[tuple[float, float]] = (0.9, 1.1)
    degrees: ClassVar[float] = 10.0


CONFIGS = {"before": BeforeFourier, "after": FourierParameterization, "pixel": PixelParameterization}


def config(name: str):
    """A configuration by name; ``NAME@LR`` (``after@0.2``) is that configuration with another learning rate."""
    base, _, lr = name.partition("@")
    return CONFIGS[base](lr=float(lr)) if lr else CONFIGS[base]()


def saturation(img: torch.Tensor) -> float:
    """Mean HSV saturation of a (3, H, W) image in [0, 1]."""
    hi, lo = img.amax(dim=0), img.amin(dim=0)
    return float(((hi - lo) / hi.clamp_min(1e-6)).mean())


def rescale_and_shift(img: torch.Tensor, scale: float, dx: int, dy: int) -> torch.Tensor:
    """(3, S, S) -> zoomed by `scale` about the centre, then moved (dx, dy) pixels; mirrored borders."""
    s = img.shape[-1]
    z = resize(img, (round(s * scale), round(s * scale)))
    n = z.shape[-1]
    if n >= s:
        top = (n - s) // 2
        z = z[:, top:top + s, top:top + s]
    else:
        lo = (s - n) // 2
        z = F.pad(z[None], (lo, s - n - lo, lo, s - n - lo), mode="reflect")[0]
    p = max(abs(dx), abs(dy))
    z = F.pad(z[None], (p, p, p, p), mode="reflect")[0]
    return z[:, p - dy:p - dy + s, p - dx:p - dx + s]


def moved_prob(bb, img: torch.Tensor, c: int, gen: torch.Generator) -> tuple[float, str]:
    scale = 0.9 + 0.2 * float(torch.rand((), generator=gen))
    angle = 2 * math.pi * float(torch.rand((), generator=gen))
    dx, dy = round(8 * math.cos(angle)), round(8 * math.sin(angle))
    with torch.no_grad():
        p = float(bb(rescale_and_shift(img, scale, dx, dy)[None]).softmax(dim=1)[0, c])
    return p, f"x{scale:.2f} ({dx:+d}, {dy:+d})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--classes", default="flamingo,tarantula,goldfish,school bus",
                    help="class names or indices, or a number N for N random classes")
    ap.add_argument("--configs", default="before,after")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="efficientnet_lite0")
    ap.add_argument("--save", default=None, metavar="DIR", help="write each image and a labelled grid here")
    args = ap.parse_args()

    bb = backbones.load(args.model)
    if args.classes.isdigit():
        classes = torch.randperm(len(bb.classes), generator=torch.Generator().manual_seed(args.seed))
        classes = classes[:int(args.classes)].tolist()
    else:
        classes = [bb.class_index(c) for c in args.classes.split(",")]
    configs = args.configs.split(",")
    rows: dict[str, list[tuple[float, float, float]]] = {c: [] for c in configs}
    images, labels = [], []
    t0, c0 = time.time(), time.process_time()
    for c in classes:
        for name in configs:
            t, ct = time.time(), time.process_time()
            res = create_class_visualization(c, bb, config(name), size=args.size, steps=args.steps,
                                             seed=args.seed)
            img = res.image.cpu()
            p_moved, how = moved_prob(bb, img, c, torch.Generator().manual_seed(args.seed * 1000 + c))
            rows[name].append((res.prob, p_moved, saturation(img)))
            print(f"{c:4d} {bb.class_name(c)[:20]:20s} {name:7s} p = {res.prob:.3f}   moved {how}: p = {p_moved:.3f}"
                  f"   sat {saturation(img):.3f}   ({time.time() - t:.0f} s wall, {time.process_time() - ct:.0f} s "
                  "CPU)", flush=True)
            images.append(img)
            labels.append([f"{bb.class_name(c)} - {name}", f"p moved {p_moved:.3f}, sat {saturation(img):.2f}"])
            if args.save:
                save_image(img, Path(args.save) / f"{c:03d}_{name}.png")
    if args.save:
        save_image(labeled_grid(images, labels, ncol=len(configs) * min(2, len(classes))),
                   Path(args.save) / "figure.png")
    print(f"\nmodel {bb.name}, {args.size}x{args.size}, {args.steps} steps, seed {args.seed}, {len(classes)} classes, "
          f"{time.time() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU (shared machine: CPU time is the "
          "steadier figure)")
    for name in configs:
        ps, moved, sats = zip(*rows[name])
        print(f"{name:7s} median p {statistics.median(ps):.3f}   moved: median {statistics.median(moved):.3f}, "
              f"min {min(moved):.3f}   saturation: mean {statistics.mean(sats):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
