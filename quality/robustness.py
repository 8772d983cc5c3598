"""The robustness curve on the 25 CS231n ImageNet samples: accuracy under PGD (L-inf) at eps 0, 1, 2, 4, 8 / 255,
through the same job `vislab robustness` runs (so the run folder holds robustness.json / .csv / .png and a killed
run resumes with --resume).

    .venv/bin/python quality/robustness.py [--attack pgd] [--eps 0,1,2,4,8] [--steps 5] [--out runs/robustness-25]
                                           [--model efficientnet_lite0] [--threads 2] [--resume]

The same as ``vislab robustness $VISLAB_DATA/imagenet_samples --eps 0,1,2,4,8 --steps 5 --out DIR``; prints the
table and the seconds taken. Early stopping is on (the job's default): an image stops being attacked once it is
fooled, which leaves the accuracy as it is and saves most of the work at the larger budgets.
"""

from __future__ import annotations

import argparse
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--attack", default="pgd")
    ap.add_argument("--eps", default="0,1,2,4,8")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--model", default="efficientnet_lite0")
    ap.add_argument("--out", default="runs/robustness-25")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args()

    import torch

    from vislab.attacks.robustness_job import run
    from vislab.attacks.settings import RobustnessSettings
    from vislab.paths import data_dir

    root = data_dir()
    if root is None or not (root / "imagenet_samples" / "labels.json").is_file():
        print("needs the course samples: $VISLAB_DATA/imagenet_samples (labels.json + images/)", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    s = RobustnessSettings(folder=str(root / "imagenet_samples"), model=args.model, attack=args.attack,
                           eps=tuple(float(e) for e in args.eps.split(",")), steps=args.steps, resume=args.resume)
    t = time.perf_counter()
    res = run(s, args.out, overwrite=args.overwrite,
              progress=lambda step, total, **kw: print(f"\r{step}/{total} image x eps", end="", file=sys.stderr))
    print(file=sys.stderr)
    unit = "/255" if s.curve_norm == "linf" else " (L2)"
    print(f"{args.attack}, {s.n_steps} steps, {args.model}, {res.curve[0]['images']} images, "
          f"{time.perf_counter() - t:.0f} s")
    print(f"{'eps':>8} {'accuracy':>9} {'8-bit PNG':>9}")
    for r in res.curve:
        print(f"{r['eps']:>5g}{unit:<3} {r['accuracy']:9.0%} {r['accuracy_8bit']:9.0%}")
    print(f"wrote {res.files.get('table')} and {res.files.get('figure')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
