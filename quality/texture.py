"""Texture synthesis quality: how much per-pixel noise the synthesized texture has, relative to the painting's own.

    .venv/bin/python quality/texture.py                         # starry_night, composition_vii at 256 px
    .venv/bin/python quality/texture.py --styles shipwreck --size 384 --images ''

For each painting, `vislab texture` runs twice from the same noise: "before" (the former defaults: one scale,
300 iterations, no smoothness term) and "after" (today's `TextureSettings()` defaults). Printed per run:
- noise ratio: the high-frequency energy per pixel (mean squared difference from a Gaussian blur of 1 px,
  `vislab.style.measures.high_frequency`) of the texture over the painting's own, the painting fitted to the same
  size. 1 is the goal: as much fine detail as the painting, no more.
- TV ratio: mean absolute neighbour difference, texture over painting (`tv_per_pixel`).
- colour distance: Fréchet distance between the RGB distributions of texture and painting (0: same colours).
- the style loss (relative Gram error, the objective itself), time (wall and CPU) and iterations.
`--images` writes a contact sheet (painting | before | after per row) to docs/images/style/texture.jpg.
`--after KEY=VALUE,...` overrides "after" settings (to try alternatives), e.g. ``--after tv_weight=0,scales=1``.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from vislab import backbones
from vislab.images import load_image, make_grid, save_image
from vislab.paths import data_dir
from vislab.style.inputs import fit
from vislab.style.measures import colour_distance, high_frequency, tv_per_pixel
from vislab.style.settings import TextureSettings
from vislab.style.transfer import texture

BEFORE = dict(scales=1, iterations=300, coarse_factor=1.0, stop_tolerance=0.0, tv_weight=0.0)
"""The former defaults of `vislab texture`."""
THUMB = 256


def measure(bb, painting: torch.Tensor, s: TextureSettings) -> tuple[dict, torch.Tensor]:
    t0, c0 = time.perf_counter(), time.process_time()
    r = texture(bb, painting, s)
    row = {"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0, "iterations": len(r.history),
           "style_loss": r.final["style"]}
    ref = fit(painting, s.image_size)[0]
    row["noise_ratio"] = high_frequency(r.image) / high_frequency(ref)
    row["tv_ratio"] = tv_per_pixel(r.image) / tv_per_pixel(ref)
    row["colour_distance"] = colour_distance(r.image, ref)
    return row, r.image


def parse_overrides(text: str) -> dict:
    """``tv_weight=0.5,scales=None,style_transform=none`` -> a dict (numbers and None as Python reads them)."""
    out = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--styles", default="starry_night,composition_vii")
    ap.add_argument("--size", type=int, default=TextureSettings().image_size)
    ap.add_argument("--after", default="", help="KEY=VALUE,... overriding the 'after' settings")
    ap.add_argument("--skip-before", action="store_true")
    ap.add_argument("--images", default="docs/images/style", help="where texture.jpg goes ('' for none)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = data_dir()
    if data is None:
        print("quality/texture.py needs the shared data folder (set VISLAB_DATA)")
        return 2
    bb = backbones.load()
    after = replace(TextureSettings(style="-", image_size=args.size), **parse_overrides(args.after))
    runs = {"after": after} if args.skip_before else {"before": replace(after, **BEFORE), "after": after}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {bb.name}, {args.size} px; after = "
          + json.dumps({k: v for k, v in after.to_dict().items() if k in BEFORE}))
    sheet = []
    for name in args.styles.split(","):
        painting = load_image(next(p for p in (data / "styles").glob(f"{name}.*")))
        sheet.append(fit(painting, THUMB)[0])
        for label, s in runs.items():
            row, img = measure(bb, painting, s)
            sheet.append(fit(img, THUMB)[0])
            print(f"{name:16s} {label:6s} noise ratio {row['noise_ratio']:5.2f}  TV ratio {row['tv_ratio']:5.2f}  "
                  f"colour distance {row['colour_distance']:.4f}  style loss {row['style_loss']:.4g}  "
                  f"{row['iterations']} it, {row['wall']:.0f} s wall, {row['cpu']:.0f} s CPU", flush=True)
    if args.images:
        hw = sheet[0].shape[-2:]
        pics = [torch.nn.functional.interpolate(p[None], size=hw, mode="bilinear", align_corners=False)[0]
                for p in sheet]
        Path(args.images).mkdir(parents=True, exist_ok=True)
        save_image(make_grid(torch.stack(pics), nrow=len(runs) + 1, padding=3), Path(args.images) / "texture.jpg",
                   quality=80)
    return 0


if __name__ == "__main__":
    sys.exit(main())
