"""vislab's attacks vs torchattacks 3.5.1, side by side in one run: the same model (a vislab Backbone; torchattacks
gets it as `PixelModel`, an nn.Module on [0, 1] images), images, budget, steps and thread count.

    .venv/bin/python bench/attacks.py [--model efficientnet_lite0|tiny] [--images 4] [--repeats 3] [--threads 2]

Prints per attack the time per image of each library (the best of --repeats interleaved runs: the least
disturbed by other processes, and past one-time set-up such as the first torch.optim step in a process, which
costs torchattacks' CW seconds; keep --repeats >= 2), the speed ratio vislab/torchattacks (torchattacks' time /
vislab's; > 1: vislab is faster) and the share of pixel values where the two results differ by more than 1e-6
(the deterministic attacks agree up to gradient components so close to zero that their sign is float noise: on
EfficientNet two calls of the same attack already differ there). DeepFool: torchattacks takes one backward pass
per class per step (1000 for ImageNet), so on an ImageNet model it is timed only with --torchattacks-deepfool;
vislab's own default (the paper's 10 candidate classes) is timed beside it (--model tiny10: both with every
class). Images: the course samples ($VISLAB_DATA/imagenet_samples) when present, else the built-in photos, in
the model's 224 px view on the 8-bit grid.
"""

from __future__ import annotations

import argparse
import math
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="efficientnet_lite0",
                    help="a vislab model name, or tiny / tiny10 (the test model, 1000 / 10 classes)")
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10, help="iterations of pgd and deepfool (cw: twice as many)")
    ap.add_argument("--torchattacks-deepfool", action="store_true", help="also time torchattacks' DeepFool")
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import torch
    import torchattacks

    from vislab import attacks

    torch.set_num_threads(args.threads)
    bb, x = _model_and_images(args.model, args.images)
    m = attacks.PixelModel(bb)
    with torch.no_grad():
        y = bb.logits(x).argmax(dim=1)
    cases = _cases(attacks, torchattacks, bb, m, x, y, args.steps, args.torchattacks_deepfool)
    print(f"{args.model}, {len(x)} images of {x.shape[-1]} px, {args.threads} threads, best of {args.repeats}")
    print(f"{'attack':<34} {'vislab ms/img':>13} {'torchattacks':>12} {'speed ratio':>11} {'differ':>8}")
    ratios = []
    for name, ours, ref in cases:
        t_ours, t_ref, a, b = float("inf"), float("inf"), None, None
        for r in range(args.repeats):  # interleaved, so a burst of load hits both; who goes first alternates
            if ref is not None and r % 2:
                t_ref, b = _timed(ref, t_ref)
            t_ours, a = _timed(ours, t_ours)
            if ref is not None and not r % 2:
                t_ref, b = _timed(ref, t_ref)
        n = len(x)
        if ref is None:
            print(f"{name:<34} {t_ours / n * 1e3:13.2f} {'-':>12} {'-':>11} {'-':>8}")
            continue
        diff = float(((a - b).abs() > 1e-6).float().mean())
        ratios.append(t_ref / t_ours)
        print(f"{name:<34} {t_ours / n * 1e3:13.2f} {t_ref / n * 1e3:12.2f} {t_ref / t_ours:10.2f}x {diff:8.2%}")
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"speed ratio vislab/torchattacks, geometric mean over the {len(ratios)} shared attacks: {geo:.2f}x")


def _timed(fn, best):
    import torch

    torch.manual_seed(0)
    t = time.perf_counter()
    out = fn()
    return min(best, time.perf_counter() - t), out


def _model_and_images(name, n):
    import torch

    from vislab import backbones
    from vislab.attacks import quantize
    from vislab.images import load_image
    from vislab.paths import data_dir

    if name in ("tiny", "tiny10"):
        import sys

        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        if name == "tiny":
            bb = backbones.load("tests.visualize.tiny_classifier:build")
        else:  # 10 classes: torchattacks' DeepFool (a backward pass per class) in seconds
            from tests.attacks.conftest import FirstTen

            from vislab.backbones.backbone import Backbone
            from vislab.backbones.custom import IMAGENET_MEAN, IMAGENET_STD

            bb = Backbone("tiny10", FirstTen(), None, None, tuple(map(str, range(10))), IMAGENET_MEAN, IMAGENET_STD,
                          input_size=32)
        g = torch.Generator().manual_seed(0)
        return bb, torch.round(torch.rand((n, 3, 32, 32), generator=g) * 255) / 255
    bb = backbones.load(name)
    d = data_dir()
    samples = d / "imagenet_samples" / "images" if d is not None else None
    if samples is not None and samples.is_dir():
        specs = [str(p) for p in sorted(samples.glob("*.png"))[:n]]
    else:
        specs = [f"sample:{s}" for s in ("chelsea", "coffee", "astronaut", "rocket")][:n]
    return bb, quantize(torch.cat([bb.prepare(load_image(s)) for s in specs]))


def _cases(attacks, ta, bb, m, x, y, steps, ta_deepfool):
    eps, alpha = 4 / 255, 1 / 255

    def targeted(atk):
        atk.set_mode_targeted_by_label(quiet=True)
        return atk

    t = (y + 1) % 1000
    cases = [
        ("fgsm eps 4/255", lambda: attacks.fgsm(bb, x, y, eps=eps), lambda: ta.FGSM(m, eps=eps)(x, y)),
        (f"pgd linf {steps} steps, no random start",
         lambda: attacks.pgd(bb, x, y, eps=eps, alpha=alpha, steps=steps, random_init=False),
         lambda: ta.PGD(m, eps=eps, alpha=alpha, steps=steps, random_start=False)(x, y)),
        (f"pgd linf {steps} steps, random start",
         lambda: attacks.pgd(bb, x, y, eps=eps, alpha=alpha, steps=steps, seed=0),
         lambda: ta.PGD(m, eps=eps, alpha=alpha, steps=steps)(x, y)),
        ("pgd linf targeted, no random start",
         lambda: attacks.pgd(bb, x, t, eps=eps, alpha=alpha, steps=steps, random_init=False, targeted=True),
         lambda: targeted(ta.PGD(m, eps=eps, alpha=alpha, steps=steps, random_start=False))(x, t)),
        ("pgd l2 eps 0.5, no random start",
         lambda: attacks.pgd(bb, x, y, eps=0.5, alpha=0.1, steps=steps, norm="l2", random_init=False),
         lambda: ta.PGDL2(m, eps=0.5, alpha=0.1, steps=steps, random_start=False)(x, y)),
        ("pgd linf, early stop (vislab only)",
         lambda: attacks.pgd(bb, x, y, eps=eps, alpha=alpha, steps=steps, seed=0, early_stop=True), None),
        (f"cw c=1, {2 * steps} steps", lambda: attacks.cw_l2(bb, x, y, c=1.0, steps=2 * steps, lr=0.01),
         lambda: ta.CW(m, c=1.0, steps=2 * steps, lr=0.01)(x, y)),
        (f"deepfool {steps} steps, top 10 classes", lambda: attacks.deepfool(bb, x, y, steps=steps), None),
    ]
    if len(bb.classes) <= 10 or ta_deepfool:  # every class: one backward pass per class and step, in both
        cases.append((f"deepfool {steps} steps, every class",
                      lambda: attacks.deepfool(bb, x, y, steps=steps, candidates=None),
                      lambda: ta.DeepFool(m, steps=steps)(x, y)))
    return cases


if __name__ == "__main__":
    main()
