"""vislab's attacks vs torchattacks 3.5.1, side by side in one run: the same model (a vislab Backbone; torchattacks
gets it as `PixelModel`, an nn.Module on [0, 1] images), images, budget, steps and thread count.

    nice -n 5 env OMP_NUM_THREADS=1 .venv/bin/python bench/attacks.py --repeats 3 [--threads 1|2]
        [--model efficientnet_lite0|tiny|tiny10] [--images 4] [--steps 10] [--only REGEX]
        [--plain-layout] [--torchattacks-channels-last] [--torchattacks-deepfool]

Prints per attack the time per image of each library (the best of --repeats interleaved runs: the least
disturbed by other processes, and past one-time set-up such as the first torch.optim step in a process, which
costs torchattacks' CW seconds; keep --repeats >= 2), the speed ratio vislab/torchattacks (torchattacks' time /
vislab's; > 1: vislab is faster) in wall-clock time and in this process's CPU time (steadier than wall clock
on a machine other processes load: it does not count the time the process waits for a core), the share of pixel
values where the two results differ by more than 1e-6 and the largest difference (in 0-255 levels), and how
many images each fools. The deterministic attacks agree up to float rounding; PGD's sign steps amplify it (a
gradient component near zero takes the other sign, and the next steps follow): on EfficientNet the same PGD
with a random start run at 1 and at 2 threads already differs in 35% of its values (up to 8 levels), PGD L2 in
99% (up to 2.6 levels).

Where vislab's speed comes from: its own CNNs on the CPU get their input in channels-last layout
(`attacks.base.logits_fn`), on which oneDNN runs the convolutions forward and backward faster; the attack loops
are torchattacks' (one forward and one backward pass a step, nothing else of note). --plain-layout times vislab
without it (the attacks' speed before), --torchattacks-channels-last gives torchattacks the same layout (its
speed then matches; its PGDL2 refuses that layout). DeepFool: torchattacks takes one backward pass per class
per step (1000 for ImageNet), so on an ImageNet model it is timed only with --torchattacks-deepfool; vislab's
own default (the paper's 10 candidate classes) is timed beside it (--model tiny10: both with every class).
Images: the course samples ($VISLAB_DATA/imagenet_samples) when present, else the built-in photos, in the
model's 224 px view on the 8-bit grid.

Measured (EfficientNet-Lite0, 4 images, 10 steps, CW 20; a shared 2-core machine at load average 1-2),
wall-clock ratio at 1 / 2 threads: FGSM 1.12x / 1.31x, PGD L-inf 1.23x / 1.08x, random start 1.22x / 1.28x,
targeted 1.32x / 1.11x, PGD L2 1.18x / 1.26x, CW 1.29x / 1.20x; geometric mean 1.22x / 1.20x (--plain-layout:
0.91-1.02x, the same work). Table and the loaded runs: docs/attacks.md, "Speed".
"""

from __future__ import annotations

import argparse
import math
import os
import re
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
    ap.add_argument("--plain-layout", action="store_true",
                    help="vislab without its channels-last input (the layout torchattacks gets): where the speed "
                         "comes from")
    ap.add_argument("--torchattacks-channels-last", action="store_true",
                    help="give torchattacks the images in channels-last layout too (its PGDL2 refuses them: "
                         "add --only 'fgsm|pgd linf')")
    ap.add_argument("--only", default="", help="time only the attacks whose row name matches this regular expression")
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
    if args.plain_layout:
        _plain_layout()
    x_ref = x.contiguous(memory_format=torch.channels_last) if args.torchattacks_channels_last else x
    cases = [c for c in _cases(attacks, torchattacks, bb, m, x, x_ref, y, args.steps, args.torchattacks_deepfool)
             if re.search(args.only, c[0])]
    print(f"{args.model}, {len(x)} images of {x.shape[-1]} px, {args.threads} threads, best of {args.repeats}")
    print(f"{'attack':<34} {'vislab ms/img':>13} {'torchattacks':>12} {'ratio wall':>10} {'ratio CPU':>9} "
          f"{'differ':>7} {'max diff':>8} {'fooled':>9}")
    ratios, cpu_ratios = [], []
    for name, ours, ref in cases:
        t_ours, t_ref, a, b = (math.inf, math.inf), (math.inf, math.inf), None, None
        for r in range(args.repeats):  # interleaved, so a burst of load hits both; who goes first alternates
            if ref is not None and r % 2:
                t_ref, b = _timed(ref, t_ref)
            t_ours, a = _timed(ours, t_ours)
            if ref is not None and not r % 2:
                t_ref, b = _timed(ref, t_ref)
        n = len(x)
        if ref is None:
            print(f"{name:<34} {t_ours[0] / n * 1e3:13.2f} {'-':>12} {'-':>10} {'-':>9} {'-':>7} {'-':>8} "
                  f"{_fooled(bb, a, y, name):>9}")
            continue
        diff = float(((a - b).abs() > 1e-6).float().mean())
        ratios.append(t_ref[0] / t_ours[0])
        cpu_ratios.append(t_ref[1] / t_ours[1])
        fooled = f"{_fooled(bb, a, y, name)}/{_fooled(bb, b, y, name)}"
        print(f"{name:<34} {t_ours[0] / n * 1e3:13.2f} {t_ref[0] / n * 1e3:12.2f} {ratios[-1]:9.2f}x "
              f"{cpu_ratios[-1]:8.2f}x {diff:7.2%} {float((a - b).abs().max()) * 255:8.3f} {fooled:>9}")
    print(f"speed ratio vislab/torchattacks, geometric mean over the {len(ratios)} shared attacks: "
          f"{_geo(ratios):.2f}x wall clock, {_geo(cpu_ratios):.2f}x CPU time")


def _geo(xs):
    return math.exp(sum(math.log(r) for r in xs) / len(xs))


def _fooled(bb, adv, y, name):
    """How many images the attack fools (targeted: classified as the target)."""
    import torch

    with torch.no_grad():
        pred = bb.logits(adv).argmax(dim=1)
    return int((pred == (y + 1) % 1000).sum() if "targeted" in name else (pred != y).sum())


def _timed(fn, best):
    """(best wall-clock seconds, best CPU seconds of this process) so far, and fn's result."""
    import torch

    torch.manual_seed(0)
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return (min(best[0], time.perf_counter() - t), min(best[1], time.process_time() - c)), out


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


def _plain_layout():
    """vislab's attacks with the model's plain forward (`scores_fn`), as before the channels-last input."""
    import importlib

    from vislab.visualize.classifier import scores_fn

    for name in ("cw", "deepfool", "fgsm", "pgd"):  # the modules (the package's names are the functions)
        importlib.import_module(f"vislab.attacks.{name}").logits_fn = scores_fn


def _cases(attacks, ta, bb, m, x, xr, y, steps, ta_deepfool):
    eps, alpha = 4 / 255, 1 / 255

    def targeted(atk):
        atk.set_mode_targeted_by_label(quiet=True)
        return atk

    t = (y + 1) % 1000
    cases = [
        ("fgsm eps 4/255", lambda: attacks.fgsm(bb, x, y, eps=eps), lambda: ta.FGSM(m, eps=eps)(xr, y)),
        (f"pgd linf {steps} steps, no random start",
         lambda: attacks.pgd(bb, x, y, eps=eps, alpha=alpha, steps=steps, random_init=False),
         lambda: ta.PGD(m, eps=eps, alpha=alpha, steps=steps, random_start=False)(xr, y)),
        (f"pgd linf {steps} steps, random start",
         lambda: attacks.pgd(bb, x, y, eps=eps, alpha=alpha, steps=steps, seed=0),
         lambda: ta.PGD(m, eps=eps, alpha=alpha, steps=steps)(xr, y)),
        ("pgd linf targeted, no random start",
         lambda: attacks.pgd(bb, x, t, eps=eps, alpha=alpha, steps=steps, random_init=False, targeted=True),
         lambda: targeted(ta.PGD(m, eps=eps, alpha=alpha, steps=steps, random_start=False))(xr, t)),
        ("pgd l2 eps 0.5, no random start",
         lambda: attacks.pgd(bb, x, y, eps=0.5, alpha=0.1, steps=steps, norm="l2", random_init=False),
         lambda: ta.PGDL2(m, eps=0.5, alpha=0.1, steps=steps, random_start=False)(xr, y)),
        ("pgd linf, early stop (vislab only)",
         lambda: attacks.pgd(bb, x, y, eps=eps, alpha=alpha, steps=steps, seed=0, early_stop=True), None),
        (f"cw c=1, {2 * steps} steps", lambda: attacks.cw_l2(bb, x, y, c=1.0, steps=2 * steps, lr=0.01),
         lambda: ta.CW(m, c=1.0, steps=2 * steps, lr=0.01)(xr, y)),
        (f"deepfool {steps} steps, top 10 classes", lambda: attacks.deepfool(bb, x, y, steps=steps), None),
    ]
    if len(bb.classes) <= 10 or ta_deepfool:  # every class: one backward pass per class and step, in both
        cases.append((f"deepfool {steps} steps, every class",
                      lambda: attacks.deepfool(bb, x, y, steps=steps, candidates=None),
                      lambda: ta.DeepFool(m, steps=steps)(xr, y)))
    return cases


if __name__ == "__main__":
    main()
