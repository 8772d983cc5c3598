"""Every job on the GPU, side by side in one run: wall time, iterations/s and the fraction of the device's measured
matmul peak; with --junit, also the outcome of tests/gpu for each job, as ONE table (what `make gpu-check` prints).

    .venv/bin/python bench/gpu.py                          # on a machine with a CUDA GPU (about 2 minutes)
    .venv/bin/python bench/gpu.py --junit gpu-tests.xml    # + the tests/gpu outcomes (make gpu-check)
    .venv/bin/python bench/gpu.py --device cpu --quick     # dry run of the script on a machine without a GPU

Each job runs through the registry exactly as `vislab <job>` runs it (settings -> run(), the run folder written),
at its default settings unless stated in JOBS (the GAN on the built-in digits, which need no download):
1. once under torch.utils.flop_counter (FLOPs of matmuls and convolutions, forward and backward, counted as in
   bench/gan.py); this run also warms up kernels, cuDNN and caches;
2. once timed (wall clock, synchronized), counting its iterations: the last step its progress callback reports.
With gan-train, a row dcgan-step times the training step alone (1,000 steps after 50 warm-up steps, batch 128):
the job on the digits checkpoints at every epoch end, every 14 steps.
The peak is *measured* in this run: the best of a few 8192^3 float32 matmuls with torch's default precision
settings (TF32 off for matmuls), not a vendor figure; convolutions may use TF32 (cuDNN's default), so a job can
exceed 100% of it. Issue 21's goals on one H100/H200: style 512 px default <= 3 s, DCGAN >= 1,000 steps/s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from vislab.registry import get

GAN = {"arch": "dcgan", "data": "digits", "batch_size": 128, "epochs": 1000, "max_steps": 600, "eval_samples": 0,
       "sample_every": 10**6, "checkpoint_every": 10**6}


@dataclass
class Bench:
    capability: str
    settings: dict[str, Any]
    quick: dict[str, Any] = field(default_factory=dict)  # --quick: tiny sizes, to check the script anywhere
    goal: str = ""


JOBS: dict[str, Bench] = {
    "classify": Bench("classify", {"images": ["sample:coffee", "sample:chelsea", "sample:astronaut"]}),
    "saliency-vanilla": Bench("saliency", {"images": ["sample:chelsea"], "method": "vanilla"}),
    "saliency-smoothgrad": Bench("saliency", {"images": ["sample:chelsea"], "method": "smoothgrad"},
                                 {"samples": 2}),
    "saliency-ig": Bench("saliency", {"images": ["sample:chelsea"], "method": "ig"}, {"steps": 4, "max_steps": 8}),
    "fool": Bench("fool", {"image": "sample:chelsea", "target": "stingray"}, {"max_iters": 3}),
    "dream": Bench("dream", {"class_": "flamingo"}, {"steps": 3, "size": 64, "views": 1}),
    "style": Bench("style", {"content": "sample:astronaut"}, {"image_size": 64, "iterations": 3},
                   goal="<= 3 s at 512 px"),
    "invert": Bench("invert", {"image": "sample:chelsea"}, {"image_size": 32, "iterations": 3}),
    "texture": Bench("texture", {}, {"image_size": 32, "iterations": 3}),
    "caption-train-torch": Bench("caption train", {"data": "shapes", "engine": "torch", "epochs": 2},
                                 {"data": "shapes:40", "epochs": 1, "image_size": 32, "hidden_dim": 16,
                                  "wordvec_dim": 8, "eval_images": 4}),
    "gan-train": Bench("gan train", GAN, {"max_steps": 4, "batch_size": 16}, goal="the job (see dcgan-step)"),
    "gan-sample": Bench("gan sample", {"n": 64}),
    "gan-eval": Bench("gan eval", {"n": 10000}, {"n": 50}),
}


def matmul_peak(device: torch.device, n: int = 8192, reps: int = 5) -> float:
    """FLOP/s of the best of `reps` float32 n^3 matmuls (2 n^3 FLOPs each)."""
    if device.type == "cpu":
        n = 1024
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    best = float("inf")
    for _ in range(reps + 1):
        _sync(device)
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_once(b: Bench, device: str, out: Path, quick: bool, count: bool) -> tuple[float, int, float]:
    """(wall seconds, iterations, FLOPs or 0) of one run of `b`."""
    cap = get(b.capability)
    settings = cap.settings_class()(**{**b.settings, **(b.quick if quick else {}), "device": device})
    steps = [0]

    def progress(step, total, **numbers):
        steps[0] = max(steps[0], int(step))
    counter = FlopCounterMode(display=False) if count else None
    dev = torch.device(device)
    _sync(dev)
    t0 = time.perf_counter()
    if counter is not None:
        with counter:
            cap.runner()(settings, out, progress=progress)
    else:
        cap.runner()(settings, out, progress=progress)
    _sync(dev)
    return time.perf_counter() - t0, steps[0], float(counter.get_total_flops()) if counter else 0.0


def dcgan_steps(device: str, quick: bool) -> dict[str, Any]:
    """The DCGAN training step alone (vislab's `Trainer`, batch 128, MNIST-sized random images): what the
    steps/s goal is about, without the job's epoch-end checkpoints (every 14 steps on the 1,797 digits)."""
    from vislab.distributed import DistInfo
    from vislab.gan.settings import TrainConfig
    from vislab.gan.trainer import Trainer

    dev = torch.device(device)
    steps = 20 if quick else 1000
    s = TrainConfig(arch="dcgan", batch_size=16 if quick else 128, epochs=10**6, eval_samples=0, device=device)
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (60000, 28, 28), generator=g, dtype=torch.uint8)  # device: cpu-ok (bench data)
    t = Trainer(s, images, DistInfo(device=dev), dev)
    for _ in range(5 if quick else 50):  # warm-up: cuDNN's choices, the allocator, Adam's state
        t.train_step()
    counter = FlopCounterMode(display=False)
    with counter:
        t.train_step()
    _sync(dev)
    t0 = time.perf_counter()
    for _ in range(steps):
        t.train_step()
    _sync(dev)
    wall = time.perf_counter() - t0
    return {"wall": wall, "steps": steps, "flops": float(counter.get_total_flops()) * steps,
            "goal": ">= 1000 steps/s at batch 128"}


def measure(names: list[str], device: str, quick: bool) -> dict[str, dict[str, Any]]:
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            b = JOBS[name]
            try:
                _, _, flops = run_once(b, device, Path(tmp) / f"{name}-count", quick, count=True)
                wall, steps, _ = run_once(b, device, Path(tmp) / f"{name}-timed", quick, count=False)
                rows[name] = {"wall": wall, "steps": steps, "flops": flops, "goal": b.goal}
            except Exception as e:  # one job's failure is a row of the table, not the end of the bench
                rows[name] = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:60]}"}
            print(f"  measured {name}", file=sys.stderr, flush=True)
    if "gan-train" in names:
        try:
            rows["dcgan-step"] = dcgan_steps(device, quick)
        except Exception as e:
            rows["dcgan-step"] = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:60]}"}
    return rows


def test_outcomes(junit: Path | None) -> dict[str, list[str]]:
    """tests/gpu outcomes from a junit XML, keyed by job (a test's parameter) or by test name."""
    if junit is None or not junit.is_file():
        return {}
    out: dict[str, list[str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name", "")
        # the per-job comparisons are keyed by their job (their parameter), other tests by their name
        key = name[name.index("[") + 1:-1] if "matches_the_cpu[" in name else name.removeprefix("test_")
        state = "FAIL" if case.find("failure") is not None or case.find("error") is not None else \
            "skip" if case.find("skipped") is not None else "ok"
        out.setdefault(key, []).append(state)
    return out


def table(rows: dict[str, dict[str, Any]], tests: dict[str, list[str]], peak: float) -> str:
    keys = list(rows) + [k for k in tests if k not in rows]
    w = max([len(k) for k in keys] + [20])
    head = f"{'job':<{w}} {'tests':<9} {'wall s':>8} {'iters':>7} {'it/s':>9} {'GFLOP':>9} {'GFLOP/s':>9} " \
           f"{'% peak':>7}  goal"
    lines = [head, "-" * len(head)]
    for key in keys:
        r, t = rows.get(key, {}), tests.get(key, [])
        verdict = ("FAIL" if "FAIL" in t else "ok" if "ok" in t else "skip") if t else "-"
        if "error" in r:
            lines.append(f"{key:<{w}} {verdict:<9} error: {r['error']}")
        elif r:
            rate = r["flops"] / r["wall"] if r["wall"] else 0.0
            its = f"{r['steps'] / r['wall']:9.1f}" if r["steps"] else f"{'-':>9}"
            lines.append(f"{key:<{w}} {verdict:<9} {r['wall']:8.2f} {r['steps']:7d} {its} {r['flops'] / 1e9:9.1f} "
                         f"{rate / 1e9:9.0f} {100 * rate / peak:6.1f}%  {r['goal']}")
        else:
            lines.append(f"{key:<{w}} {verdict:<9} {'(test only)':>8}")
    failed = sum("FAIL" in t for t in tests.values()) + sum("error" in r for r in rows.values())
    lines.append(f"matmul peak measured: {peak / 1e9:.0f} GFLOP/s float32; {failed} failing row(s)")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu for a dry run")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: checks the script, measures nothing useful")
    ap.add_argument("--jobs", default=",".join(JOBS), help="comma-separated subset of: " + ", ".join(JOBS))
    ap.add_argument("--junit", type=Path, help="tests/gpu results (pytest --junitxml) to show beside the numbers")
    args = ap.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("bench/gpu.py: no CUDA GPU on this machine (torch.cuda.is_available() is False): nothing measured; "
              "run it where a GPU is, or --device cpu --quick to check the script", file=sys.stderr)
        return 1
    names = [n for n in args.jobs.split(",") if n]
    unknown = [n for n in names if n not in JOBS]
    if unknown:
        print(f"bench/gpu.py: unknown job(s) {', '.join(unknown)}; choose from {', '.join(JOBS)}", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"bench/gpu.py on {name}, torch {torch.__version__}{' (quick sizes)' if args.quick else ''}")
    peak = matmul_peak(device)
    rows = measure(names, args.device, args.quick)
    tests = test_outcomes(args.junit)
    print(table(rows, tests, peak))
    return 1 if any("error" in r for r in rows.values()) or any("FAIL" in t for t in tests.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
