"""Quality check for `vislab gan`: train arch x loss on MNIST and score each generator.

    .venv/bin/python quality/gan.py                       # mlp/dcgan x bce/ls, then DCGAN hinge+sn+ema
    .venv/bin/python quality/gan.py --runs dcgan-bce,dcgan-ls+ema --epochs 5

A run is ARCH-LOSS with options after "+": `sn` (spectral norm on the discriminator), `ema` (sample from the
moving average of the generator's weights, decay 0.999).

For every run it prints the MNIST score (Inception-score analogue with vislab's cached MNIST classifier; real
test digits give the reference value printed first), the Fréchet distance on the classifier's 128-d
penultimate features against the 10,000 test digits, the number of digit classes present, and the training
minutes. Goal: DCGAN reaches an MNIST score >= 9.0 within 5 epochs. Per-epoch scores are in each run's
metrics.jsonl. Slow on 2 CPU cores: minutes per epoch for the DCGAN; run what you can, the table says what was
measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from vislab.gan.evaluate import evaluate_generator, load_scorer
from vislab.gan.train import TrainConfig, load_generator, train
from vislab.progress import terminal_progress
from vislab.runs import read_metrics


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="dcgan-bce,dcgan-ls,mlp-bce,mlp-ls,dcgan-hinge+sn+ema",
                    help="comma-separated ARCH-LOSS[+sn][+ema] list")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--samples", type=int, default=10000, help="samples scored at the end (default 10000)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    ap.add_argument("--out", default="runs/quality-gan", help="folder for the run folders and results.json")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3, the course's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    scorer = load_scorer("mnist", log=lambda m: print(m, file=sys.stderr))
    print(f"MNIST classifier: test accuracy {scorer.test_accuracy:.4f}; real test digits: MNIST score "
          f"{scorer.test_score:.3f} (10,000 images); torch threads {torch.get_num_threads()}", flush=True)
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    print("| arch | loss | options | epochs | lr | MNIST score | Fréchet distance | digits present | minutes |",
          flush=True)
    print("|---|---|---|---:|---:|---:|---:|---:|---:|", flush=True)
    for name in args.runs.split(","):
        base, *options = name.split("+")
        arch, loss = base.split("-", 1)
        unknown = set(options) - {"sn", "ema"}
        if unknown:
            ap.error(f"{name}: unknown option(s) {sorted(unknown)}; use +sn and/or +ema")
        cfg = TrainConfig(arch=arch, loss=loss, epochs=args.epochs, seed=args.seed, data="mnist", lr=args.lr,
                          spectral_norm="sn" in options, ema=0.999 if "ema" in options else 0.0,
                          sample_every=500, checkpoint_every=500)
        t0 = time.perf_counter()
        with terminal_progress(name, enabled=sys.stderr.isatty()) as bar:
            summary = train(cfg, out / name, progress=bar)
        minutes = (time.perf_counter() - t0) / 60
        G, _, _ = load_generator(summary["checkpoint"])
        s = evaluate_generator(G, cfg.noise_dim, scorer, n=args.samples, seed=args.seed)
        per_epoch = [round(r["mnist_score"], 3) for r in read_metrics(out / name) if "mnist_score" in r]
        results[name] = {"arch": arch, "loss": loss, "options": options, "epochs": args.epochs, "lr": args.lr,
                         "mnist_score": s["mnist_score"],
                         "frechet_distance": s["frechet_distance"], "modes": s["modes"],
                         "class_histogram": s["class_histogram"], "minutes": minutes,
                         "score_per_epoch_5000_samples": per_epoch, "threads": torch.get_num_threads()}
        results_path.write_text(json.dumps(results, indent=2) + "\n")
        print(f"| {arch} | {loss} | {' '.join(options) or '-'} | {args.epochs} | {args.lr:g} | "
              f"{s['mnist_score']:.2f} | {s['frechet_distance']:.2f} | {s['modes']}/10 | {minutes:.1f} |", flush=True)
        print(f"    per-epoch MNIST score (5000 samples): {per_epoch}", flush=True)
        if arch == "dcgan":
            ok = s["mnist_score"] >= 9.0
            print(f"    goal DCGAN score >= 9.0 within {args.epochs} epochs: {'met' if ok else 'NOT met'}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
