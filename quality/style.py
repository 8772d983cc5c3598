"""Quality checks for `vislab style | invert | texture`, and the README's result images.

    .venv/bin/python quality/style.py                      # everything (tens of minutes on 2 CPU cores)
    .venv/bin/python quality/style.py --parts loss          # only the 5% check
    .venv/bin/python quality/style.py --parts gallery --styles starry_night,the_scream

Parts:
- loss: tubingen.jpg + starry_night.jpg at 256 px with every default setting; the total loss of the result
  must be <= 5% of the loss of the starting image (the content photo), both under the same objective.
- invert: feature inversion of tubingen.jpg from noise at several layers (default settings); PSNR and SSIM
  against the photo at the same size.
- texture: texture synthesis from noise for a few paintings (default settings); the style loss (the mean
  relative Gram error over the style layers) at the start and at the end.
- gallery: tubingen.jpg in the style of each painting in ../shared/data/styles, default settings.
Full-size results go to --out (with results.json); small contact sheets for the README (gallery.jpg,
inversion.jpg, texture.jpg; a few hundred KB in all) go to --images (docs/images/style).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from vislab import backbones
from vislab.images import load_image, make_grid, save_image
from vislab.paths import data_dir
from vislab.style.similarity import psnr, ssim
from vislab.style.transfer import (
    INVERT_DEFAULTS,
    TEXTURE_DEFAULTS,
    Settings,
    fit,
    invert,
    style_transfer,
    texture,
)

THUMB = 192
"""Size of each picture on the README's contact sheets."""
STYLES = ("starry_night", "the_scream", "composition_vii", "shipwreck", "woman-with-hat-matisse")


def thumb(img: torch.Tensor, size: int) -> torch.Tensor:
    """(3, H, W) -> (3, size, size): fitted inside a white square, centred."""
    x = fit(img, size)[0]
    out = torch.ones(3, size, size)
    h, w = x.shape[-2:]
    out[:, (size - h) // 2:(size - h) // 2 + h, (size - w) // 2:(size - w) // 2 + w] = x
    return out


def part_loss(bb, data: Path, size: int) -> dict:
    content = load_image(data / "content" / "tubingen.jpg")
    style = load_image(data / "styles" / "starry_night.jpg")
    t0 = time.perf_counter()
    r = style_transfer(bb, content, [style], Settings(image_size=size), progress=True)
    ratio = r.final["total"] / r.start["total"]
    row = {"size": size, "start": r.start, "final": r.final, "ratio": ratio,
           "seconds": time.perf_counter() - t0}
    print(f"loss: tubingen + starry_night at {size} px, defaults: total {r.start['total']:.4g} -> "
          f"{r.final['total']:.4g} = {ratio:.2%} of the start "
          f"(goal <= 5%: {'PASS' if ratio <= 0.05 else 'FAIL'}); "
          f"final content {r.final['content']:.3g}, style {r.final['style']:.3g}, tv {r.final['tv']:.3g}; "
          f"{row['seconds']:.0f} s")
    return row


def part_invert(bb, data: Path, size: int, layers: list[str], images: Path | None) -> list[dict]:
    photo = load_image(data / "content" / "tubingen.jpg")
    ref = fit(photo, size)[0]
    rows, pics = [], [ref]
    for layer in layers:
        t0 = time.perf_counter()
        r = invert(bb, photo, layer, replace(INVERT_DEFAULTS, image_size=size), progress=True)
        row = {"layer": layer, "psnr": psnr(r.image, ref), "ssim": ssim(r.image, ref),
               "content_start": r.start["content"], "content_final": r.final["content"],
               "seconds": time.perf_counter() - t0}
        rows.append(row)
        pics.append(r.image)
        print(f"invert: {layer:8s} PSNR {row['psnr']:5.2f} dB  SSIM {row['ssim']:.3f}  "
              f"relative feature error "
              f"{row['content_start']:.3g} -> {row['content_final']:.2g}  ({row['seconds']:.0f} s)")
    if images is not None:
        save_sheet([fit(p, THUMB)[0] for p in pics], len(pics), images / "inversion.jpg")
    return rows


def part_texture(bb, data: Path, size: int, names: list[str], images: Path | None) -> list[dict]:
    rows, pics = [], []
    for name in names:
        style = load_image(_style_path(data, name))
        t0 = time.perf_counter()
        r = texture(bb, style, replace(TEXTURE_DEFAULTS, image_size=size), progress=True)
        row = {"style": name, "style_start": r.start["style"], "style_final": r.final["style"],
               "ratio": r.final["style"] / r.start["style"], "seconds": time.perf_counter() - t0}
        rows.append(row)
        pics += [thumb(style, THUMB), thumb(r.image, THUMB)]
        print(f"texture: {name:24s} style loss {row['style_start']:.4g} -> {row['style_final']:.4g} "
              f"({row['ratio']:.2%} of the start, {row['seconds']:.0f} s)")
    if images is not None:
        save_sheet(pics, 4, images / "texture.jpg")
    return rows


def part_gallery(bb, data: Path, size: int, names: list[str], images: Path | None, out: Path) -> list[dict]:
    content = load_image(data / "content" / "tubingen.jpg")
    rows, sheet = [], []
    for name in names:
        style = load_image(_style_path(data, name))
        t0 = time.perf_counter()
        r = style_transfer(bb, content, [style], Settings(image_size=size), progress=True)
        path = save_image(r.image, out / f"tubingen_{name}.png")
        row = {"style": name, "ratio": r.final["total"] / r.start["total"], "final": r.final,
               "seconds": time.perf_counter() - t0, "image": str(path)}
        rows.append(row)
        sheet += [thumb(style, THUMB), thumb(r.image, THUMB)]
        print(f"gallery: {name:24s} loss {r.start['total']:.4g} -> {r.final['total']:.4g} "
              f"({row['ratio']:.2%}), "
              f"{row['seconds']:.0f} s -> {path}")
    if images is not None:
        save_sheet(sheet, 4, images / "gallery.jpg")
    return rows


def save_sheet(pics: list[torch.Tensor], nrow: int, path: Path) -> None:
    """Same-sized (3, H, W) images tiled `nrow` per row, as a small JPEG."""
    save_image(make_grid(torch.stack(pics), nrow=nrow, padding=3), path, quality=80)


def _style_path(data: Path, name: str) -> Path:
    for suffix in (".jpg", ".png"):
        if (data / "styles" / f"{name}{suffix}").is_file():
            return data / "styles" / f"{name}{suffix}"
    raise SystemExit(f"no style image {name} in {data / 'styles'}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="loss,invert,texture,gallery")
    ap.add_argument("--size", type=int, default=256, help="longer side in pixels (default 256)")
    ap.add_argument("--styles", default=",".join(STYLES), help="paintings for the gallery")
    ap.add_argument("--texture-styles", default="starry_night,composition_vii")
    ap.add_argument("--layers", default="stem,block2,block4,block9", help="layers to invert")
    ap.add_argument("--images", default="docs/images/style", help="where README images go ('' for none)")
    ap.add_argument("--out", default="runs/quality-style", help="folder for results.json")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = data_dir()
    if data is None:
        print("quality/style.py needs the shared data folder (set VISLAB_DATA)")
        return 2
    images = Path(args.images) if args.images else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if images is not None:
        images.mkdir(parents=True, exist_ok=True)
    bb = backbones.load(device=args.device)
    print(f"torch {torch.__version__}, {bb.device}, {torch.get_num_threads()} threads, {bb.name}; "
          f"style layers "
          f"{bb.default_style_layers}, content {bb.default_content_layers}")
    results: dict = {}
    parts = args.parts.split(",")
    if "loss" in parts:
        results["loss"] = part_loss(bb, data, args.size)
    if "invert" in parts:
        results["invert"] = part_invert(bb, data, args.size, args.layers.split(","), images)
    if "texture" in parts:
        results["texture"] = part_texture(bb, data, args.size, args.texture_styles.split(","), images)
    if "gallery" in parts:
        results["gallery"] = part_gallery(bb, data, args.size, args.styles.split(","), images, out)
    name = "results.json" if len(parts) == 4 else f"results-{'-'.join(parts)}.json"
    (out / name).write_text(json.dumps(results, indent=2) + "\n")
    return 0 if results.get("loss", {}).get("ratio", 0) <= 0.05 else 1


if __name__ == "__main__":
    sys.exit(main())
