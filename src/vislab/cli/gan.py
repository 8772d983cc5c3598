"""vislab gan train | sample | eval : GANs on MNIST."""

from __future__ import annotations

import argparse
import json
import sys

from .common import add_device, add_out, add_seed, positive_float, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gan", help="train, sample and score GANs on MNIST",
                       description="Vanilla, least-squares and DCGAN generative adversarial networks on "
                                   "MNIST: train, sample, evaluate.")
    gsub = p.add_subparsers(dest="gan_command", metavar="ACTION", parser_class=type(p))
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    t = gsub.add_parser("train", help="train a GAN (several processes: torchrun --nproc_per_node N "
                                      "-m vislab gan train ...)",
                        description="Train a GAN; writes sample grids, losses.png, checkpoint.pt and "
                                    "scores into the run folder. On --resume, flags left out come from the "
                                    "checkpoint.")
    t.add_argument("--arch", choices=["mlp", "dcgan"], default=None, help="network pair (default dcgan)")
    t.add_argument("--loss", choices=["bce", "ls", "wgan-gp", "hinge"], default=None,
                   help="bce (vanilla GAN), ls (least squares), wgan-gp or hinge (default bce)")
    t.add_argument("--epochs", type=positive_int, default=None, help="passes over the data (default 5)")
    t.add_argument("--max-steps", type=positive_int, default=None, help="stop after this many steps in total")
    t.add_argument("--batch-size", type=positive_int, default=None,
                   help="global batch size, split across processes (default 128)")
    t.add_argument("--lr", type=positive_float, default=None, help="Adam learning rate (default 1e-3)")
    t.add_argument("--beta1", type=float, default=None, help="Adam beta1 (default 0.5)")
    t.add_argument("--ema", type=float, default=None, metavar="DECAY",
                   help="keep an exponential moving average of the generator's weights with this decay "
                        "(e.g. 0.999; ramped up from 0.1 early on) and sample and score from it; 0 = off "
                        "(default 0)")
    t.add_argument("--noise-dim", type=positive_int, default=None, help="noise size (default 96)")
    t.add_argument("--spectral-norm", action="store_true", default=None,
                   help="spectral normalization on the discriminator's layers")
    t.add_argument("--data", default=None, metavar="auto|mnist|digits|DIR",
                   help="a folder with the MNIST IDX files (gz or raw; also MNIST/raw/), 'mnist' (find or "
                        "download), 'digits' (built-in 8x8 digits, offline) or 'auto' (default: MNIST, else "
                        "digits with a warning)")
    t.add_argument("--limit", type=positive_int, default=None, help="use only the first N training images")
    t.add_argument("--sample-every", type=positive_int, default=None,
                   help="save a fixed-noise sample grid every N steps (default 250)")
    t.add_argument("--checkpoint-every", type=positive_int, default=None,
                   help="checkpoint every N steps and at each epoch end (default 250)")
    t.add_argument("--log-every", type=positive_int, default=None,
                   help="log losses every N steps (default 10)")
    t.add_argument("--eval-samples", type=int, default=None,
                   help="samples scored with the MNIST classifier at each epoch end (default 5000; 0 = off)")
    t.add_argument("--resume", metavar="CKPT|RUN", default=None, help="continue a run from its checkpoint")
    t.add_argument("--tensorboard", action="store_true", default=None,
                   help="also log scalars and grids for TensorBoard (needs the tensorboard package)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    add_device(t)
    add_out(t, "gan-train")
    t.set_defaults(func=run_train)

    s = gsub.add_parser("sample", help="a grid of samples from a trained generator",
                        description="Draw samples from a checkpoint's generator and save them as one grid.")
    s.add_argument("--checkpoint", required=True, metavar="CKPT|RUN", help="checkpoint.pt or its run folder")
    s.add_argument("-n", type=positive_int, default=64, help="number of samples (default 64)")
    s.add_argument("-o", "--output", default=None, metavar="PNG", help="grid image (default RUN/samples.png)")
    add_raw(s)
    add_seed(s)
    add_device(s)
    add_out(s, "gan-sample")
    s.set_defaults(func=run_sample)

    e = gsub.add_parser("eval", help="MNIST score, Fréchet distance and class histogram of a generator",
                        description="Score a checkpoint's samples with a small MNIST classifier (trained "
                                    "once, cached): the MNIST score (Inception-score analogue), the Fréchet "
                                    "distance on its 128-d penultimate features vs the test set, and the "
                                    "class histogram.")
    e.add_argument("--checkpoint", required=True, metavar="CKPT|RUN", help="checkpoint.pt or its run folder")
    e.add_argument("-n", type=positive_int, default=10000, help="samples to score (default 10000)")
    e.add_argument("--data", default="auto", metavar="auto|DIR",
                   help="where MNIST is, for training the classifier the first time (default auto)")
    e.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    add_raw(e)
    add_seed(e)
    add_device(e)
    add_out(e, "gan-eval")
    e.set_defaults(func=run_eval)


def add_raw(p: argparse.ArgumentParser) -> None:
    p.add_argument("--raw", action="store_true",
                   help="use the raw generator, not the moving average of its weights (for runs trained "
                        "with --ema; others have only the raw one)")


# Flags that fall back to the checkpoint's value on --resume (and to TrainConfig's defaults otherwise).
_TRAIN_KEYS = ("arch", "loss", "epochs", "max_steps", "batch_size", "lr", "beta1", "ema", "noise_dim",
               "spectral_norm", "data", "limit", "sample_every", "checkpoint_every", "log_every",
               "eval_samples", "tensorboard", "seed")


def run_train(args: argparse.Namespace) -> int:
    from ..gan.train import TrainConfig, resolve_checkpoint, train
    from ..runs import load_checkpoint

    given = {k: getattr(args, k) for k in _TRAIN_KEYS if getattr(args, k) is not None}
    base: dict = {}
    if args.resume:
        base = dict(load_checkpoint(resolve_checkpoint(args.resume), kind="gan").get("config", {}))
    cfg = TrainConfig.from_dict({**base, **given, "device": args.device})
    summary = train(cfg, args.out, resume=args.resume, progress=not args.quiet, overwrite=args.overwrite)
    if summary.get("run_dir"):
        extra = ""
        if "mnist_score" in summary:
            extra = (f", MNIST score {summary['mnist_score']:.2f}, "
                     f"Fréchet distance {summary['frechet_distance']:.2f}")
        print(f"{summary['run_dir']}: {summary['steps']} steps, d_loss {summary['d_loss']:.4f}, "
              f"g_loss {summary['g_loss']:.4f}{extra}")
    return 0


def run_sample(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch

    from ..devices import resolve_device
    from ..gan.models import sample_noise
    from ..gan.train import load_generator, resolve_checkpoint, sample_grid
    from ..images import save_image
    from ..runs import make_run_dir, write_config

    device = resolve_device(args.device)
    ckpt = resolve_checkpoint(args.checkpoint)
    G, cfg, state = load_generator(ckpt, device, raw=args.raw)
    z = sample_noise(args.n, cfg.noise_dim, generator=torch.Generator().manual_seed(args.seed))
    grid = sample_grid(G, z, device)
    if args.output:  # written before the run folder exists, so a bad -o leaves nothing behind
        out = save_image(grid, Path(args.output))
        run = make_run_dir(args.out, "gan-sample", overwrite=args.overwrite)
    else:
        run = make_run_dir(args.out, "gan-sample", overwrite=args.overwrite)
        out = save_image(grid, run / "samples.png")
    write_config(run, {"checkpoint": str(ckpt), "n": args.n, "seed": args.seed, "output": str(out),
                       "arch": cfg.arch, "loss": cfg.loss, "generator": state["sampled_from"]})
    print(out)
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from ..devices import resolve_device
    from ..fileio import write_json
    from ..gan.evaluate import evaluate_generator, load_scorer
    from ..gan.train import load_generator, resolve_checkpoint
    from ..runs import MetricsLog, make_run_dir, write_config

    device = resolve_device(args.device)
    ckpt = resolve_checkpoint(args.checkpoint)
    G, cfg, state = load_generator(ckpt, device, raw=args.raw)
    dataset = state.get("dataset", "mnist")
    scorer = load_scorer(dataset, data=args.data, device=device, log=lambda m: print(m, file=sys.stderr))
    scores = evaluate_generator(G, cfg.noise_dim, scorer, n=args.n, seed=args.seed, device=device)
    scores.update(dataset=dataset, step=int(state.get("step", 0)), generator=state["sampled_from"],
                  real_test_score=round(scorer.test_score, 4),
                  classifier_test_accuracy=round(scorer.test_accuracy, 4))
    run = make_run_dir(args.out, "gan-eval", overwrite=args.overwrite)
    write_config(run, {"checkpoint": str(ckpt), "n": args.n, "seed": args.seed, "dataset": dataset,
                       "generator": state["sampled_from"]})
    write_json(run / "eval.json", scores)
    MetricsLog(run).log(scores["step"], **{k: v for k, v in scores.items() if k != "step"})
    if args.json:
        print(json.dumps(scores))
        return 0
    which = "weight average (--ema)" if state["sampled_from"] == "ema" else "raw generator"
    print(f"{ckpt} ({cfg.arch}/{cfg.loss}, step {scores['step']}, {which}, {args.n} samples, {dataset})")
    print(f"  MNIST score       {scores['mnist_score']:.3f}   (real test digits: {scorer.test_score:.3f}; "
          "max 10)")
    print(f"  Fréchet distance  {scores['frechet_distance']:.3f}   (classifier's 128-d penultimate features, "
          "vs the test set)")
    hist = " ".join(f"{d}:{c}" for d, c in enumerate(scores["class_histogram"]))
    print(f"  classes           {hist}   ({scores['modes']}/10 digits present)")
    return 0
