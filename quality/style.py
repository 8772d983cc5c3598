"""Quality checks for `vislab style | invert`, and the docs' result images (texture: quality/texture.py).

    .venv/bin/python quality/style.py --parts pairs         # the five neural-style pairs at 512 px (a few minutes)
    .venv/bin/python quality/style.py                      # everything (tens of minutes on 2 CPU cores)
    .venv/bin/python quality/style.py --parts gallery --styles starry_night,the_scream

Parts:
- pairs: tubingen.jpg in the style of the five paintings of jcjohnson/neural-style's examples, with every
  default setting at 512 px, each beside neural-style's published output (VGG-19, 512 px): one JPEG per pair
  (painting | vislab | neural-style) in --images (pair_<name>.jpg). Printed per pair: time, the loss, and two
  numbers against neural-style's picture: the noise ratio (high-frequency energy per pixel, vislab over
  neural-style: 1 = as much fine detail) and the colour distance (Fréchet distance of the RGB distributions).
- loss: tubingen.jpg + starry_night.jpg with every default setting; the total loss of the result must be <= 5%
  of the loss of the starting image (the content photo), both under the same objective.
- invert: feature inversion of tubingen.jpg from noise at several layers (default settings); PSNR and SSIM
  against the photo at the same size.
- gallery: tubingen.jpg in the style of each painting in ../shared/data/styles, default settings.
Full-size results go to --out (with results.json); small contact sheets for the docs (gallery.jpg,
inversion.jpg) go to --images (docs/images/style).
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
from vislab.images import load_image, make_grid, resize, save_image
from vislab.paths import data_dir
from vislab.style.measures import colour_distance, high_frequency
from vislab.style.similarity import psnr, ssim
from vislab.style.transfer import INVERT_DEFAULTS, Settings, fit, invert, style_transfer

THUMB = 192
"""Size of each picture on the README's contact sheets."""
STYLES = ("starry_night", "the_scream", "composition_vii", "shipwreck", "woman-with-hat-matisse")
PAIRS = {"starry": "styles/starry_night_neural_style.jpg", "scream": "styles/the_scream.jpg",
         "composition_vii": "styles/composition_vii.jpg", "shipwreck": "styles/shipwreck.jpg",
         "seated_nude": "reference/neural_style/seated-nude.jpg"}
"""neural-style's example name -> its style image in the shared data; its output is
reference/neural_style/tubingen_<name>.png."""


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
    ratio = r.final["total"] / r.start["total"]  # start: the content image, scored at the first (coarsest) scale
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


def part_pairs(bb, data: Path, size: int, names: list[str], images: Path | None, out: Path) -> list[dict]:
    content = load_image(data / "content" / "tubingen.jpg")
    rows = []
    for name in names:
        style = load_image(data / PAIRS[name])
        t0, c0 = time.perf_counter(), time.process_time()
        r = style_transfer(bb, content, [style], Settings(image_size=size), progress=True)
        ref = load_image(data / "reference" / "neural_style" / f"tubingen_{name}.png")
        ref = resize(ref, tuple(r.image.shape[-2:]))
        row = {"pair": name, "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
               "steps": len(r.history), "start": r.start["total"], "final": r.final,
               "noise_ratio": high_frequency(r.image) / high_frequency(ref),
               "colour_distance": colour_distance(r.image, ref),
               "image": str(save_image(r.image, out / f"pair_{name}.png"))}
        rows.append(row)
        print(f"pair: {name:16s} {row['seconds']:5.1f} s wall {row['cpu_seconds']:5.1f} s CPU, {row['steps']} steps; "
              f"loss {row['start']:.4g} -> {r.final['total']:.4g}; vs neural-style: noise ratio "
              f"{row['noise_ratio']:.2f}, colour distance {row['colour_distance']:.4f}", flush=True)
        if images is not None:
            hw = tuple(r.image.shape[-2:])
            panel = torch.stack([letterbox(style, hw), r.image, ref])
            save_image(make_grid(panel, nrow=3, padding=4), images / f"pair_{name}.jpg", quality=82)
    return rows


def letterbox(img: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """(3, H, W) fitted inside `hw` on white, centred."""
    scale = min(hw[0] / img.shape[-2], hw[1] / img.shape[-1])
    h, w = round(img.shape[-2] * scale), round(img.shape[-1] * scale)
    out = torch.ones(3, *hw)
    top, left = (hw[0] - h) // 2, (hw[1] - w) // 2
    out[:, top:top + h, left:left + w] = resize(img, (h, w))
    return out


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
    ap.add_argument("--parts", default="pairs,loss,invert,gallery")
    ap.add_argument("--size", type=int, default=Settings().image_size,
                    help=f"longer side in pixels (default {Settings().image_size}; invert runs at its own default)")
    ap.add_argument("--pairs", default=",".join(PAIRS), help="neural-style pairs to run")
    ap.add_argument("--styles", default=",".join(STYLES), help="paintings for the gallery")
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
    if "pairs" in parts:
        results["pairs"] = part_pairs(bb, data, args.size, args.pairs.split(","), images, out)
    if "loss" in parts:
        results["loss"] = part_loss(bb, data, args.size)
    if "invert" in parts:
        results["invert"] = part_invert(bb, data, INVERT_DEFAULTS.image_size, args.layers.split(","), images)
    if "gallery" in parts:
        results["gallery"] = part_gallery(bb, data, args.size, args.styles.split(","), images, out)
    name = "results.json" if len(parts) == 4 else f"results-{'-'.join(parts)}.json"
    (out / name).write_text(json.dumps(results, indent=2) + "\n")
    return 0 if results.get("loss", {}).get("ratio", 0) <= 0.05 else 1


if __name__ == "__main__":
    sys.exit(main())
