"""DCGAN training speed at batch 128: vislab's loop vs the classic course loop, side by side in one run.

    .venv/bin/python bench/gan.py [--rounds 5 --iters 3 --threads N]

The classic loop (cs231n `run_a_gan`) samples fresh noise for the generator update, so it runs the generator
twice per iteration, feeds real and fake images to the discriminator in separate passes, computes
discriminator weight gradients it never uses during the generator update, and uses the default (for-loop)
Adam. vislab's `gan_step` does one generator forward, one batched discriminator pass, freezes the
discriminator during the generator update, and uses fused Adam and channels-last convolutions; vislab's
discriminator max-pools before its LeakyReLU (the same function, bitwise, on 4x fewer activations; the
classic rows use the course's layer order). The rows in between switch these on one at a time, and a last row
gives the classic loop vislab's discriminator too, so both ratios can be read.

Same networks (same initial weights; the layer order aside, the same function), same batch, same thread
count; the variants run interleaved, round by round, and the median iterations/s is reported, so load from
other processes hits all of them alike. Goal: >= 1.5x.

GFLOP/s: the floating-point operations of one iteration are counted with torch.utils.flop_counter (matmuls and
convolutions, forward and backward); the machine's peak is *estimated* as the best of a few large fp32 matmuls
(4096^3) measured in this same run with the same threads, not a vendor figure.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from vislab.gan.losses import discriminator_loss, generator_loss
from vislab.gan.models import build_dc_classifier, build_dc_generator, sample_noise
from vislab.gan.train import TrainConfig, gan_step, make_optimizers, prepare_models

B, NOISE = 128, 96
VISLAB = "vislab (+ pool before LeakyReLU)"
CLASSIC_OWN_D = "classic loop, vislab's D"


def classic_step(G, D, opt_g, opt_d, real, gen):
    """The course's loop body, as written there (generator run twice, separate D passes)."""
    opt_d.zero_grad()
    logits_real = D(real)
    fake_images = G(sample_noise(B, NOISE, generator=gen)).detach()
    logits_fake = D(fake_images)
    d_total_error = discriminator_loss(logits_real, logits_fake)
    d_total_error.backward()
    opt_d.step()

    opt_g.zero_grad()
    fake_images = G(sample_noise(B, NOISE, generator=gen))
    g_error = generator_loss(D(fake_images))
    g_error.backward()
    opt_g.step()


def one_forward_step(G, D, opt_g, opt_d, real, gen):
    """Classic, except that one fake batch serves both updates (pytorch/examples' DCGAN does this)."""
    fake = G(sample_noise(B, NOISE, generator=gen))
    opt_d.zero_grad()
    discriminator_loss(D(real), D(fake.detach())).backward()
    opt_d.step()
    opt_g.zero_grad()
    generator_loss(D(fake)).backward()
    opt_g.step()


def vislab_step(G, D, opt_g, opt_d, real, gen):
    gan_step(G, D, opt_g, opt_d, real, sample_noise(B, NOISE, generator=gen), "bce")


def course_order(D: nn.Sequential) -> nn.Sequential:
    """vislab's DCGAN discriminator with the course's layer order (LeakyReLU, then max-pool), same weights."""
    layers = list(copy.deepcopy(D))
    for i in range(len(layers) - 1):
        if isinstance(layers[i], nn.MaxPool2d) and isinstance(layers[i + 1], nn.LeakyReLU):
            layers[i], layers[i + 1] = layers[i + 1], layers[i]
    return nn.Sequential(*layers)


def make_variant(G0, D0, step, *, fused: bool, cl: bool):
    G, D = copy.deepcopy(G0), copy.deepcopy(D0)
    cpu = torch.device("cpu")
    if cl:  # channels-last memory format
        prepare_models(G, D, "dcgan", cpu)
    if fused:
        opt_g, opt_d = make_optimizers(G, D, TrainConfig(), cpu)
    else:  # the course's optimizer: torch's default Adam implementation
        opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    return step, (G, D, opt_g, opt_d)


def flops_per_iter(step, models, real) -> float:
    with FlopCounterMode(display=False) as fc:
        step(*models, real, torch.Generator().manual_seed(0))
    return fc.get_total_flops()


def matmul_peak(threads: int, n: int = 4096, reps: int = 3) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = 0.0
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        best = max(best, 2 * n ** 3 / (time.perf_counter() - t0) / 1e9)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median reported)")
    ap.add_argument("--iters", type=int, default=3, help="iterations per variant per round")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    torch.manual_seed(0)
    G0, D0 = build_dc_generator(NOISE), build_dc_classifier()
    real = torch.rand(B, 784) * 2 - 1

    Dc = course_order(D0)
    variants = {
        "classic (course loop: G twice)": make_variant(G0, Dc, classic_step, fused=False, cl=False),
        "+ one G forward per iteration": make_variant(G0, Dc, one_forward_step, fused=False, cl=False),
        "+ batched D, frozen D in G step": make_variant(G0, Dc, vislab_step, fused=False, cl=False),
        "+ fused Adam": make_variant(G0, Dc, vislab_step, fused=True, cl=False),
        "+ channels-last convs": make_variant(G0, Dc, vislab_step, fused=True, cl=True),
        VISLAB: make_variant(G0, D0, vislab_step, fused=True, cl=True),
        CLASSIC_OWN_D: make_variant(G0, D0, classic_step, fused=False, cl=False),
    }
    flops = {name: flops_per_iter(step, models, real) for name, (step, models) in variants.items()}
    gens = {name: torch.Generator().manual_seed(1) for name in variants}
    for name, (step, models) in variants.items():  # warm-up (oneDNN primitive creation, allocator)
        step(*models, real, gens[name])
    rates: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (step, models) in variants.items():
            t0 = time.perf_counter()
            for _ in range(args.iters):
                step(*models, real, gens[name])
            rates[name].append(args.iters / (time.perf_counter() - t0))
    peak = matmul_peak(threads)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"DCGAN training, batch {B}, {threads} torch threads, {os.cpu_count()} CPUs, "
          f"load average {load:.1f}; median of {args.rounds} interleaved rounds x {args.iters} iterations")
    print(f"estimated peak: {peak:.1f} GFLOP/s (best fp32 4096^3 matmul, measured now, same threads)")
    base = statistics.median(rates["classic (course loop: G twice)"])
    print(f"{'loop':<34} {'it/s':>7} {'vs classic':>10} {'GFLOP/iter':>11} {'GFLOP/s':>8} {'% of peak':>9}")
    for name in variants:
        r = statistics.median(rates[name])
        gf = flops[name] / 1e9
        print(f"{name:<34} {r:7.3f} {r / base:9.2f}x {gf:11.1f} {gf * r:8.1f} {100 * gf * r / peak:8.1f}%")
    vislab = statistics.median(rates[VISLAB])
    ratio = vislab / base
    print(f"vislab / classic: {ratio:.2f}x (goal >= 1.5x: {'met' if ratio >= 1.5 else 'not met'})")
    print(f"vislab / classic loop with vislab's discriminator: {vislab / statistics.median(rates[CLASSIC_OWN_D]):.2f}x"
          " (the loop's share alone)")


if __name__ == "__main__":
    main()
