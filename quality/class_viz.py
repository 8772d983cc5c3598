"""Class visualization quality: for random classes, is the synthesized image classified as the class, and does
it stay so after a random rescale and shift (i.e. is it more than a brittle adversarial pattern)?

For each class: `create_class_visualization` with the library defaults (unless overridden), then
- p: the target's probability for the final 224x224 image as saved (8-bit);
- p moved: the same after a random 0.9x-1.1x rescale (antialiased resize, then center crop or mirror
  padding back to 224) and an 8-pixel shift in a random direction (mirror padding), done with other code
  than the one used during optimization.
Goal: p >= 0.9 and p moved >= 0.5 for every class.

    .venv/bin/python quality/class_viz.py [--classes 10] [--seed 0] [--param fourier] [--save DIR]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from vislab import backbones
from vislab.images import make_grid, resize, save_image
from vislab.tour.annotate import labeled_grid
from vislab.visualize import create_class_visualization


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--param", default="fourier")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--views", type=int, default=None)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--model", default="efficientnet_lite0")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--save", default=None, metavar="DIR", help="write each image and a grid of all here")
    args = ap.parse_args()

    bb = backbones.load(args.model, device=args.device)
    gen = torch.Generator().manual_seed(args.seed)
    classes = torch.randperm(len(bb.classes), generator=gen)[:args.classes].tolist()
    rows, images = [], []
    t0 = time.time()
    for c in classes:
        t = time.time()
        res = create_class_visualization(c, bb, param=args.param, size=args.size, steps=args.steps,
                                         lr=args.lr, views=args.views, seed=args.seed)
        scale = 0.9 + 0.2 * float(torch.rand((), generator=gen))
        angle = 2 * math.pi * float(torch.rand((), generator=gen))
        dx, dy = round(8 * math.cos(angle)), round(8 * math.sin(angle))
        moved = rescale_and_shift(res.image.cpu(), scale, dx, dy)
        with torch.no_grad():
            p_moved = float(bb(moved[None]).softmax(dim=1)[0, c])
        rows.append((c, res.prob, p_moved))
        images.append(res.image.cpu())
        print(f"{c:4d} {bb.class_name(c):28s} p = {res.prob:.3f}   after x{scale:.2f} zoom, "
              f"shift ({dx:+d}, {dy:+d}): p = {p_moved:.3f}   ({time.time() - t:.0f} s)", flush=True)
        if args.save:
            save_image(res.image, Path(args.save) / f"{c:03d}_{bb.class_name(c).replace(' ', '_')}.png")
    if args.save:
        save_image(make_grid(torch.stack(images), nrow=5), Path(args.save) / "grid.png")
        save_image(labeled_grid(images, [[bb.class_name(c), f"p = {p:.3f}, moved {q:.3f}"] for c, p, q in rows],
                                ncol=5), Path(args.save) / "figure.png")
    n = len(rows)
    good = sum(p >= 0.9 for _, p, _ in rows)
    robust = sum(q >= 0.5 for _, _, q in rows)
    print()
    print(f"model {bb.name}, param {args.param}, {args.size}x{args.size}, steps {res.steps}, "
          f"seed {args.seed}, {n} classes, {time.time() - t0:.0f} s")
    print(f"p >= 0.9: {good}/{n}   (median p {statistics.median(p for _, p, _ in rows):.3f}, "
          f"min {min(p for _, p, _ in rows):.3f})")
    print(f"after random 0.9-1.1x rescale + 8-pixel shift, p >= 0.5: {robust}/{n}   "
          f"(median {statistics.median(q for _, _, q in rows):.3f}, min {min(q for _, _, q in rows):.3f})")
    return 0 if good == n and robust == n else 1


if __name__ == "__main__":
    sys.exit(main())
