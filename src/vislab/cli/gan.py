"""vislab gan train | sample | eval : GANs on MNIST.

Each flag is one setting of the library's jobs (`vislab.gan.settings`), which own every default, choice and
check; help texts read the defaults from there. Training flags left out mean "the checkpoint's value" with
--resume, else the default.
"""

from __future__ import annotations

import argparse
import json

from ..gan.settings import ARCH_CHOICES, LOSS_CHOICES, GanEvalSettings, GanSampleSettings, GanTrainSettings
from .common import add_device, add_out, run_job, settings_from

_FROM_CHECKPOINT = "; with --resume the checkpoint's"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gan", help="train, sample and score GANs on MNIST",
                       description="Vanilla, least-squares and DCGAN generative adversarial networks on "
                                   "MNIST: train, sample, evaluate.")
    gsub = p.add_subparsers(dest="gan_command", metavar="ACTION", parser_class=type(p))
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
    _add_train(gsub)
    _add_sample(gsub)
    _add_eval(gsub)


def _default(name: str) -> str:
    value = GanTrainSettings.default(name)
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return f"default {text}{_FROM_CHECKPOINT}"


def _add_train(gsub: argparse._SubParsersAction) -> None:
    t = gsub.add_parser("train", help="train a GAN (several processes: torchrun --nproc_per_node N "
                                      "-m vislab gan train ...)",
                        description="Train a GAN; writes sample grids, losses.png, checkpoint.pt and "
                                    "scores into the run folder. On --resume, flags left out come from the "
                                    "checkpoint.")
    t.add_argument("--arch", metavar="|".join(ARCH_CHOICES), help=f"network pair ({_default('arch')})")
    t.add_argument("--loss", metavar="|".join(LOSS_CHOICES),
                   help=f"bce (vanilla GAN), ls (least squares), wgan-gp or hinge ({_default('loss')})")
    t.add_argument("--epochs", type=int, help=f"passes over the data ({_default('epochs')})")
    t.add_argument("--max-steps", type=int, help="stop after this many steps in total (default: no limit)")
    t.add_argument("--batch-size", type=int,
                   help=f"global batch size, split across processes ({_default('batch_size')})")
    t.add_argument("--lr", type=float, help=f"Adam learning rate, in (0, 1] ({_default('lr')})")
    t.add_argument("--beta1", type=float, help=f"Adam beta1, in [0, 1) ({_default('beta1')})")
    t.add_argument("--beta2", type=float, help=f"Adam beta2, in [0, 1) ({_default('beta2')})")
    t.add_argument("--ema", type=float, metavar="DECAY",
                   help="keep an exponential moving average of the generator's weights with this decay in "
                        "[0, 1) (e.g. 0.999; ramped up from 0.1 early on) and sample and score from it; 0 = off "
                        f"({_default('ema')})")
    t.add_argument("--noise-dim", type=int, help=f"noise size ({_default('noise_dim')})")
    t.add_argument("--spectral-norm", action="store_true", default=None,
                   help="spectral normalization on the discriminator's layers")
    t.add_argument("--data", metavar="auto|mnist|digits|DIR",
                   help="a folder with the MNIST IDX files (gz or raw; also MNIST/raw/), 'mnist' (find or "
                        "download), 'digits' (built-in 8x8 digits, offline) or 'auto' (MNIST, else digits "
                        f"with a warning) ({_default('data')})")
    t.add_argument("--limit", type=int, help="use only the first N training images (default: all)")
    t.add_argument("--sample-every", type=int,
                   help=f"save a fixed-noise sample grid every N steps ({_default('sample_every')})")
    t.add_argument("--checkpoint-every", type=int,
                   help=f"checkpoint every N steps and at each epoch end ({_default('checkpoint_every')})")
    t.add_argument("--log-every", type=int, help=f"log losses every N steps ({_default('log_every')})")
    t.add_argument("--eval-samples", type=int,
                   help="samples scored with the MNIST classifier at each epoch end, at least 2; 0 = off "
                        f"({_default('eval_samples')})")
    t.add_argument("--resume", metavar="CKPT|RUN", help="continue a run from its checkpoint")
    t.add_argument("--tensorboard", action="store_true", default=None,
                   help="also log scalars and grids for TensorBoard (needs the tensorboard package)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--seed", type=int, help=f"random seed ({_default('seed')})")
    add_device(t)
    t.add_argument("--deterministic", action="store_true",
                   help=GanTrainSettings.__dataclass_fields__["deterministic"].metadata["help"])
    add_out(t, "gan-train")
    t.set_defaults(func=run_train)


def _add_generator_flags(p: argparse.ArgumentParser, cls: type, n_help: str) -> None:
    p.add_argument("--checkpoint", default=cls.checkpoint, metavar="CKPT|RUN",
                   help=f"checkpoint.pt or its run folder (default {cls.checkpoint}: the DCGAN MNIST generator "
                        "that ships with vislab)")
    p.add_argument("-n", type=int, default=cls.n, help=f"{n_help} (default {cls.n})")
    p.add_argument("--raw", action="store_true", default=cls.raw,
                   help="use the raw generator, not the moving average of its weights (for runs trained "
                        "with --ema; others have only the raw one)")
    p.add_argument("--seed", type=int, default=cls.seed, help=f"random seed of the noise (default {cls.seed})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_device(p)


def _add_sample(gsub: argparse._SubParsersAction) -> None:
    s = gsub.add_parser("sample", help="a grid of samples from a trained generator",
                        description="Draw samples from a checkpoint's generator and tile them into one grid, "
                                    "saved in the run folder (samples.png) and, with -o, also there.")
    _add_generator_flags(s, GanSampleSettings, "number of samples")
    s.add_argument("-o", "--output", default=GanSampleSettings.output, metavar="IMAGE",
                   help="also write the grid to this image file (.png, .jpg, ...; its folder must exist)")
    add_out(s, "gan-sample")
    s.set_defaults(func=run_sample)


def _add_eval(gsub: argparse._SubParsersAction) -> None:
    e = gsub.add_parser("eval", help="MNIST score, Fréchet distance and class histogram of a generator",
                        description="Score a checkpoint's samples with a small MNIST classifier (trained "
                                    "once, cached): the MNIST score (Inception-score analogue), the Fréchet "
                                    "distance on its 128-d penultimate features vs the test set, and the "
                                    "class histogram.")
    _add_generator_flags(e, GanEvalSettings, "samples to score, at least 2")
    e.add_argument("--data", default=GanEvalSettings.data, metavar="auto|DIR",
                   help=f"where MNIST is, for training the classifier the first time (default "
                        f"{GanEvalSettings.data})")
    e.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    add_out(e, "gan-eval")
    e.set_defaults(func=run_eval)


def run_train(args: argparse.Namespace) -> int:
    from ..gan.train import run

    r = run_job(run, settings_from(GanTrainSettings, args), args, "gan train")
    if r.main:
        scores = r.scores
        extra = (f", MNIST score {scores['mnist_score']:.2f}, Fréchet distance {scores['frechet_distance']:.2f}"
                 if "mnist_score" in scores else "")
        stopped = f" ({r.status}: resume with --resume {r.run_dir})" if r.cancelled else ""
        print(f"{r.run_dir}: {r.steps} steps, d_loss {r.d_loss:.4f}, g_loss {r.g_loss:.4f}{extra}{stopped}")
    return 0


def run_sample(args: argparse.Namespace) -> int:
    from ..gan.sample import run

    r = run_job(run, settings_from(GanSampleSettings, args), args, "gan sample")
    print(r.output or r.files.get("grid", r.run_dir))
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from ..gan.score import run

    r = run_job(run, settings_from(GanEvalSettings, args), args, "gan eval")
    scores = r.scores
    if not scores:  # stopped before two samples were drawn
        print(f"{r.run_dir}: {r.status}, nothing scored")
        return 0
    if args.json:
        print(json.dumps(scores))
        return 0
    which = "weight average (--ema)" if scores["generator"] == "ema" else "raw generator"
    print(f"{args.checkpoint} (step {scores['step']}, {which}, {scores['n']} samples, {scores['dataset']})")
    print(f"  MNIST score       {scores['mnist_score']:.3f}   (real test digits: {scores['real_test_score']:.3f}; "
          "max 10)")
    print(f"  Fréchet distance  {scores['frechet_distance']:.3f}   (classifier's 128-d penultimate features, "
          "vs the test set)")
    hist = " ".join(f"{d}:{c}" for d, c in enumerate(scores["class_histogram"]))
    print(f"  classes           {hist}   ({scores['modes']}/10 digits present)")
    return 0
