"""Feature visualization quality: does the optimized image drive its channel above every real photo, and still
after it is moved; does the diversity term make N images of one channel differ?

For each channel (LAYER:INDEX of EfficientNet-Lite0), `create_visualization(channel(...))`, then
- act: the channel's mean activation for the image as saved (8-bit);
- moved: the same after a random 0.9x-1.1x zoom, +-10 degree turn and 8-pixel shift (the image must hold a
  pattern, not one pixel-exact arrangement);
- photos max / mean: the channel's mean activation on the 25 course ImageNet samples (224 px, $VISLAB_DATA);
- beats: act > every photo's.
With --batch N (default 4): N images of the first channel with diversity weight 0 and --diversity; sim = the
mean pairwise cosine similarity of their Gram matrices at the layer (1 = identical styles).

    .venv/bin/python quality/feature_viz.py [--channels block5:17,block8:3,block12:40] [--size 128]
        [--steps 100] [--batch 4] [--diversity 100] [--seed 0] [--save DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from vislab import backbones
from vislab.images import load_image, make_grid, save_image
from vislab.paths import data_dir
from vislab.visualize.augment import random_affine
from vislab.visualize.class_viz import create_visualization
from vislab.visualize.objectives import capture, channel, diversity, parse_unit


def photo_activations(bb: backbones.Backbone, units: list[tuple[str, int]]) -> dict[tuple[str, int], torch.Tensor]:
    d = data_dir()
    if d is None or not (d / "imagenet_samples" / "images").is_dir():
        sys.exit("needs the course samples: $VISLAB_DATA/imagenet_samples/images")
    files = sorted((d / "imagenet_samples" / "images").glob("*.png"))
    x = torch.cat([bb.prepare(load_image(f)) for f in files])
    with torch.no_grad():
        acts = capture(bb, x, sorted({layer for layer, _ in units}))
    return {(layer, c): acts[layer][:, c].mean(dim=(1, 2)) for layer, c in units}


def similarity(bb: backbones.Backbone, images: torch.Tensor, layer: str) -> float:
    """Mean pairwise Gram cosine similarity (minus lucent's diversity, divided by N - 1)."""
    with torch.no_grad():
        return -float(diversity(layer)(capture(bb, images, [layer]))) / (len(images) - 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--channels", default="block5:17,block8:3,block12:40")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--diversity", type=float, default=100.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", type=Path)
    a = ap.parse_args(argv)
    torch.manual_seed(a.seed)
    bb = backbones.load("efficientnet_lite0")
    units = [parse_unit(u, "channels")[:2] for u in a.channels.split(",")]
    photos = photo_activations(bb, units)
    print(f"efficientnet_lite0, fourier, {a.size} px, {a.steps} steps, seed {a.seed}")
    print(f"{'channel':<12} {'act':>8} {'moved':>8} {'photos max':>10} {'photos mean':>11} {'beats':>5} {'s':>6}")
    for layer, c in units:
        t = time.perf_counter()
        obj = channel(layer, c)
        v = create_visualization(obj, bb, "fourier", size=a.size, steps=a.steps, seed=a.seed)
        with torch.no_grad():
            moved = random_affine(v.images, generator=torch.Generator().manual_seed(a.seed), shift=8)
            act_moved = float(obj(capture(bb, moved, obj.layers)))
        p = photos[(layer, c)]
        print(f"{layer}:{c:<6} {v.value:8.2f} {act_moved:8.2f} {float(p.max()):10.2f} {float(p.mean()):11.2f} "
              f"{str(v.value > float(p.max())):>5} {time.perf_counter() - t:6.1f}")
        if a.save:
            a.save.mkdir(parents=True, exist_ok=True)
            save_image(v.images[0], a.save / f"{layer}_{c}.png")
    if a.batch > 1:
        layer, c = units[0]
        for w in (0.0, a.diversity):
            obj = channel(layer, c) + w * diversity(layer) if w else channel(layer, c)
            v = create_visualization(obj, bb, "fourier", size=a.size, steps=a.steps, seed=a.seed, batch=a.batch)
            acts = capture(bb, v.images, [layer])[layer][:, c].mean(dim=(1, 2))
            print(f"batch {a.batch} of {layer}:{c}, diversity {w:g}: sim {similarity(bb, v.images, layer):.3f}, "
                  f"act per image {', '.join(f'{float(x):.1f}' for x in acts)}")
            if a.save:
                save_image(make_grid(v.images, nrow=a.batch), a.save / f"{layer}_{c}_batch_div{w:g}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
