"""Which saliency maps are faithful to EfficientNet-Lite0? Every method side by side on the course's 25 ImageNet
samples (../shared/data/imagenet_samples, labelled by its labels.json), through the `saliency-eval` job:

- deletion / insertion AUC of p(label) (16 chunks; black, resp. a blurred copy, as the start),
- ROAD MoRF / LeRF: mean p(label) with the top / bottom 20, 50, 80 % of the pixels refilled by noisy linear
  imputation,
- the Spearman rank correlation of each map with the map of the fully re-initialized network (Adebayo et al.),
- the seconds one map takes (this machine, one image at a time).

    .venv/bin/python quality/saliency_faithfulness.py [--methods vanilla,gradcam,...] [--images 8]
        [--cascade 1] [--steps 16] [--fractions 0.2,0.5,0.8] [--window 32] [--stride 32]
        [--out runs/saliency-faithfulness] [--threads 2]

Defaults: Score-CAM is left out (one forward pass per non-constant channel of the 1280-channel head, x2 for the
randomized model), integrated gradients take at most 64 gradients, SmoothGrad 8 noisy copies, occlusion 32-pixel
squares every 32 pixels. All 25 samples took 50 min wall (17 min CPU) at --threads 1 on the shared 2-core machine at
load 5-10. The table lands in <out>/faithfulness.md (copied into docs/visualize.md by hand).
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from vislab import paths
from vislab.visualize.saliency_eval import SaliencyEvalSettings, run

METHODS = "vanilla,smoothgrad,ig,gradcam,gradcam++,layercam,guided,guided-gradcam,occlusion"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default=METHODS)
    ap.add_argument("--images", type=int, default=25, help="the first N samples")
    ap.add_argument("--cascade", type=int, default=1)
    ap.add_argument("--steps", type=int, default=16, help="deletion/insertion chunks")
    ap.add_argument("--fractions", default="0.2,0.5,0.8", help="ROAD: fractions of pixels removed")
    ap.add_argument("--window", type=int, default=32, help="occlusion: side of the gray square, pixels")
    ap.add_argument("--stride", type=int, default=32, help="occlusion: pixels between square positions")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="runs/saliency-faithfulness")
    args = ap.parse_args()
    data = paths.data_dir()
    if data is None or not (data / "imagenet_samples" / "labels.json").is_file():
        print("needs the course samples: set VISLAB_DATA to the shared data folder", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    folder = data / "imagenet_samples"
    images = [str(folder)]
    if args.images < 25:  # a subset: the first N files with their labels, through a temporary labels file
        images = _subset(folder, args.images)
    fractions = tuple(float(f) for f in args.fractions.split(","))
    settings = SaliencyEvalSettings(images=images, methods=tuple(args.methods.split(",")), steps=args.steps,
                                    road_fractions=fractions, cascade=args.cascade, samples=8, max_steps=64,
                                    window=args.window, stride=args.stride, batch_size=17, seed=0)
    t0 = time.perf_counter()
    result = run(settings, args.out, overwrite=True,
                 progress=lambda k, n, **_: print(f"\r{k}/{n} ({time.perf_counter() - t0:.0f} s)", end="",
                                                   file=sys.stderr, flush=True))
    print(file=sys.stderr)
    print((result.run_dir / "faithfulness.md").read_text())
    print(f"{result.numbers['images']} images, {time.perf_counter() - t0:.0f} s; {result.run_dir}")
    return 0


def _subset(folder, n: int) -> list[str]:
    import json

    labels = json.loads((folder / "labels.json").read_text())
    keep = dict(list(labels.items())[:n])
    import tempfile
    from pathlib import Path

    tmp = Path(tempfile.mkdtemp(prefix="vislab-faith-"))
    for rel in keep:
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).symlink_to(folder / rel)
    (tmp / "labels.json").write_text(json.dumps(keep))
    return [str(tmp)]


if __name__ == "__main__":
    sys.exit(main())
