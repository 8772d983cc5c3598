"""Style transfer speed, the classic loop vs vislab's default side by side; peak memory at 512 and 1024 px.

    .venv/bin/python bench/style.py [--threads 1] [--size 256] [--memory-sizes 512,1024]

Same content (tubingen.jpg) and style (starry_night.jpg), same size, same backbone (efficientnet_lite0), the
same objective (vislab.style.Objective with vislab's default layers and weights), the same start (the
content image). Three optimizers run in lockstep, one iteration each in turn, each timed on its own clock, so
load from other processes hits all of them alike:
- classic: cs231n's loop. Adam on the network's normalized pixels, lr 3.0, then 0.1 for the last 10%, 200
  iterations, pixels clamped to the valid range after each step.
- vislab: what `vislab style` runs by default (L-BFGS, history 20, pixels kept in [0, 1]), 300 iterations.
- Adam lr 0.02 on [0, 1] pixels (`--optimizer adam`), 300 iterations: a first-order loop with a sane step.
Printed: the time each needs to reach the classic loop's final loss, the ratio classic / vislab (goal >= 4x),
and over the whole runs the time to reach 20%, 10% and 5% of the starting loss. Losses are of the images each
optimizer holds between its steps (in [0, 1]); evaluating them for the table is not timed.

Peak memory: one fresh subprocess per size runs vislab's default for 25 iterations (L-BFGS's memory is full
after 20) and reports its peak resident set size (ru_maxrss; on a GPU, torch.cuda.max_memory_allocated too).
A subprocess with size 0 gives the baseline (python + torch + the model).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

from vislab import backbones
from vislab.devices import resolve_device
from vislab.images import load_image
from vislab.paths import data_dir
from vislab.style.objective import Objective, Terms
from vislab.style.optimize import PixelOptimizer
from vislab.style.transfer import Settings, fit

FRACTIONS = (0.2, 0.1, 0.05)


def images():
    d = data_dir()
    if d is None:  # the shared data is missing: fall back to the offline sample photos
        return (load_image("sample:chelsea"), load_image("sample:hubble_deep_field"),
                "chelsea + hubble (samples)")
    return (load_image(d / "content" / "tubingen.jpg"), load_image(d / "styles" / "starry_night.jpg"),
            "tubingen.jpg + starry_night.jpg")


class Classic:
    """cs231n's style-transfer loop, one `step()` at a time: Adam on the network's normalized pixels."""

    def __init__(self, bb, objective, content: torch.Tensor, iterations: int = 200) -> None:
        self.bb, self.objective, self.iterations, self.t = bb, objective, iterations, 0
        self.lo, self.hi = bb.preprocess(torch.zeros_like(content)), bb.preprocess(torch.ones_like(content))
        self.x = bb.preprocess(content).detach().clone().requires_grad_(True)
        self.opt = torch.optim.Adam([self.x], lr=3.0)

    def step(self) -> Terms:
        if self.t == int(0.9 * self.iterations):
            self.opt.param_groups[0]["lr"] = 0.1
        self.opt.zero_grad()
        terms = self.objective(self.bb.deprocess(self.x))
        terms.total.backward()
        self.opt.step()
        with torch.no_grad():
            self.x.copy_(torch.maximum(torch.minimum(self.x, self.hi), self.lo))
        self.t += 1
        return terms

    @property
    def image(self) -> torch.Tensor:
        return self.bb.deprocess(self.x.detach()).clamp(0, 1)


def lockstep(runners: dict[str, tuple[object, int]], objective,
             device: torch.device) -> dict[str, list[tuple[float, float]]]:
    """Step every runner in turn until each has done its iterations; per runner, a list of (seconds of its own
    steps so far, loss of its image at that moment): the image entering each step, then the final image."""
    clocks = {name: 0.0 for name in runners}
    traces: dict[str, list[tuple[float, float]]] = {name: [] for name in runners}
    for i in range(max(n for _, n in runners.values())):
        for name, (runner, n) in runners.items():
            if i >= n:
                continue
            t0 = time.perf_counter()
            terms = runner.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            traces[name].append((clocks[name], float(terms.total.detach())))
            clocks[name] += dt
    for name, (runner, _) in runners.items():
        with torch.no_grad():
            traces[name].append((clocks[name], float(objective(runner.image).total)))
    return traces


def reach(trace: list[tuple[float, float]], target: float) -> tuple[float, int] | None:
    """(seconds, steps done) when the loss first got to `target`, or None."""
    return next(((t, k) for k, (t, loss) in enumerate(trace) if loss <= target), None)


def memory_child(size: int, iterations: int, device: str) -> None:
    """Run in a subprocess: vislab's default at `size` px for a few iterations; print peak memory as JSON."""
    from vislab.style.transfer import style_transfer

    dev = resolve_device(device)
    bb = backbones.load(device=dev)
    content, style, _ = images()
    if size:
        style_transfer(bb, content, [style], Settings(image_size=size, iterations=iterations))
    out = {"size": size, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if dev.type == "cuda":
        out["cuda_max_allocated_mb"] = torch.cuda.max_memory_allocated() / 2**20
    print(json.dumps(out))


def speed(size: int, device: torch.device) -> None:
    bb = backbones.load(device=device)
    content_img, style_img, names = images()
    s = Settings(image_size=size)
    content, style = fit(content_img, size).to(device), fit(style_img, size).to(device)
    objective = Objective(bb, content=content, styles=[style], content_layers=bb.default_content_layers,
                          style_layers=bb.default_style_layers, content_weight=s.content_weight,
                          style_weight=s.style_weight, tv_weight=s.tv_weight)
    with torch.no_grad():
        start = float(objective(content).total)
    print(f"{names} at {tuple(content.shape[-2:])}, {bb.name}, style layers {bb.default_style_layers}, "
          f"content {bb.default_content_layers}; loss of the content image {start:.4g}")
    runners = {
        "classic (Adam lr 3.0 -> 0.1)": (Classic(bb, objective, content), 200),
        "vislab (L-BFGS, default)": (PixelOptimizer(content, objective), s.iterations),
        "Adam lr 0.02, [0, 1] pixels": (PixelOptimizer(content, objective, optimizer="adam"), s.iterations),
    }
    traces = lockstep(runners, objective, device)
    names_ = list(runners)
    target = traces[names_[0]][-1][1]
    print(f"classic loop after 200 iterations: loss {target:.4g} ({target / start:.1%} of the start)")
    hits = {name: reach(traces[name], target) for name in names_}
    for name in names_:
        hit = hits[name]
        total = traces[name][-1][0]
        print(f"  {name:30s} reaches it after {hit[1]:3d} iterations, {hit[0]:6.1f} s "
              f"(whole run {total:.1f} s)" if hit else f"  {name:30s} does not reach it ({total:.1f} s)")
    if hits[names_[0]] and hits[names_[1]]:
        ratio = hits[names_[0]][0] / hits[names_[1]][0]
        print(f"speed-up of vislab's default over the classic loop: {ratio:.1f}x (goal >= 4x)")
    print("time (iterations) to reach a fraction of the starting loss; last column: loss after the whole run")
    print(f"  {'':30s}" + "".join(f"{f'{f:.0%}':>16s}" for f in FRACTIONS) + f"{'end':>9s}")
    for name in names_:
        cells = []
        for f in FRACTIONS:
            hit = reach(traces[name], f * start)
            cells.append(f"{hit[0]:6.1f} s ({hit[1]:3d})" if hit else "-")
        print(f"  {name:30s}" + "".join(f"{c:>16s}" for c in cells) + f"{traces[name][-1][1] / start:>9.2%}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    ap.add_argument("--size", type=int, default=256, help="longer side of the images (default 256)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--memory-sizes", default="512,1024", help="comma-separated sizes ('' to skip)")
    ap.add_argument("--memory-iterations", type=int, default=25)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--memory-child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_child is not None:
        memory_child(args.memory_child, args.memory_iterations, args.device)
        return 0

    dev = resolve_device(args.device)
    print(f"torch {torch.__version__}, device {dev}, {torch.get_num_threads()} threads")
    if not args.skip_speed:
        speed(args.size, dev)
    sizes = [int(v) for v in args.memory_sizes.split(",") if v.strip()]
    for size in [0, *sizes] if sizes else []:
        cmd = [sys.executable, __file__, "--memory-child", str(size), "--memory-iterations",
               str(args.memory_iterations), "--device", args.device]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            print(f"memory at {size} px: failed: {res.stderr.strip().splitlines()[-1:]}")
            continue
        row = json.loads(res.stdout.strip().splitlines()[-1])
        label = "baseline (no optimization)" if size == 0 else f"{size} px, {args.memory_iterations} it"
        cuda = row.get("cuda_max_allocated_mb")
        extra = f", CUDA peak allocated {cuda:.0f} MiB" if cuda is not None else ""
        print(f"peak memory {label}: {row['maxrss_mb']:.0f} MiB resident{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
