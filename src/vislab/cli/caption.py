"""vislab caption: caption images with a trained model; ``caption train`` and ``caption eval``.

    vislab caption IMAGE... --checkpoint CKPT [--beam 3] [--out DIR]
    vislab caption train [--data shapes] [--cell lstm] [--engine numpy|torch] ...
    vislab caption eval --checkpoint CKPT [--data SPEC] [--split test]

argparse cannot mix "IMAGE..." with sub-subcommands, so ``caption`` takes the rest of the command line and
picks the parser by its first word. Flags map one to one onto the settings of `vislab.captioning.settings`,
which own every default and check; the jobs are `vislab.captioning.{predict,train,evaluate}.run`.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..captioning.settings import (
    DEFAULT_EPOCHS,
    DTYPE_NAMES,
    ENGINES,
    SPLIT_CHOICES,
    CaptionEvalSettings,
    CaptionSettings,
    CaptionTrainSettings,
    cell_types,
)
from ..captioning.sources import HELP as DATA_HELP
from . import ArgumentParser, configure_threads
from .common import add_device, add_model, add_out, add_seed, flag_errors, run_job, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "caption", help="image captioning: caption images, train, evaluate (BLEU, CIDEr-D)",
        description="Caption images with a trained model, or train / evaluate one:\n"
                    "  vislab caption IMAGE... --checkpoint CKPT [--beam 3] [--out DIR]\n"
                    "  vislab caption train [--data shapes] [--cell lstm] [--engine numpy|torch] ...  (see "
                    "`vislab caption train --help`)\n"
                    "  vislab caption eval --checkpoint CKPT [--data SPEC] [--split test]",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_predict_flags(p)
    p.add_argument("rest", nargs=argparse.REMAINDER, metavar="IMAGE... | train ... | eval ...",
                   help="image files to caption, or the word train / eval followed by its flags")
    p.set_defaults(func=run)


def _add_predict_flags(p: argparse.ArgumentParser) -> None:
    s = CaptionSettings
    p.add_argument("--checkpoint", metavar="CKPT", default=s.checkpoint,
                   help=s.__dataclass_fields__["checkpoint"].metadata["help"])
    p.add_argument("--beam", type=int, default=s.beam, help=f"beam size (default {s.beam}: greedy decoding)")
    p.add_argument("--attention", action="store_true", default=s.attention,
                   help=s.__dataclass_fields__["attention"].metadata["help"] + "; writes a run folder (--out, "
                        "default runs/caption-TIME)")
    p.add_argument("--json", action="store_true", help="print one JSON list instead of lines")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="also write captions.json into this run folder (default: print only); a folder holding "
                        "another run's results is refused unless --overwrite")
    p.add_argument("--overwrite", action="store_true", help="replace the results of the vislab run in --out")
    add_device(p)


def _predict_parser() -> ArgumentParser:
    p = ArgumentParser(prog="vislab caption", description="Caption image files with a trained model.")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files, or sample:NAME for a built-in photo")
    _add_predict_flags(p)
    return p


def _train_parser() -> ArgumentParser:
    s = CaptionTrainSettings
    p = ArgumentParser(prog="vislab caption train",
                       description="Train a captioning model (Adam, per-epoch validation loss and BLEU, "
                                   "checkpoints). Under torchrun, --engine torch trains with DDP.")
    p.add_argument("--data", default=s.data, metavar="SPEC", help=f"{DATA_HELP} (default {s.data})")
    p.add_argument("--cell", choices=cell_types(), default=s.cell,
                   help=s.__dataclass_fields__["cell"].metadata["help"] + f"; default {s.cell}")
    p.add_argument("--attention", action="store_true", default=s.attention,
                   help=s.__dataclass_fields__["attention"].metadata["help"])
    p.add_argument("--attention-grounding", type=float, default=s.attention_grounding, metavar="WEIGHT",
                   help=s.__dataclass_fields__["attention_grounding"].metadata["help"]
                   + f"; default {s.attention_grounding:g}")
    p.add_argument("--engine", choices=ENGINES, default=s.engine,
                   help=f"numpy (hand-written backprop) or torch (autograd; GPU, torchrun); default {s.engine} "
                        "(torch for --cell transformer)")
    p.add_argument("--epochs", type=int, default=s.epochs,
                   help=f"default {DEFAULT_EPOCHS}; with --resume, the run's own (give more to train longer)")
    _int(p, "--batch-size", s.batch_size, "captions per step (the global batch under torchrun)")
    p.add_argument("--lr", type=float, default=s.lr, help=f"Adam learning rate, in (0, 1]; default {s.lr}")
    p.add_argument("--lr-decay", type=float, default=s.lr_decay,
                   help=f"lr multiplier after every epoch, in (0, 1]; default {s.lr_decay}")
    p.add_argument("--ema", type=float, default=s.ema, metavar="DECAY",
                   help=s.__dataclass_fields__["ema"].metadata["help"] + f"; default {s.ema:g}")
    _int(p, "--hidden-dim", s.hidden_dim)
    _int(p, "--wordvec-dim", s.wordvec_dim)
    _int(p, "--max-length", s.max_length, "words per caption, longer ones are cut")
    _int(p, "--min-count", s.min_count, "rarer training words become <UNK>")
    p.add_argument("--pca-dim", type=int, default=s.pca_dim, help="reduce image features to this many "
                   "dimensions with PCA (fitted on the train split); default: keep all")
    p.add_argument("--dtype", choices=DTYPE_NAMES, default=s.dtype, help=f"default {s.dtype}")
    _int(p, "--save-every", s.save_every, "also checkpoint every N steps (0: after each epoch only)")
    _int(p, "--log-every", s.log_every, "steps per logged training-loss row")
    _int(p, "--eval-images", s.eval_images, "val images captioned for BLEU after each epoch (0: all)")
    p.add_argument("--resume", metavar="RUN", default=s.resume,
                   help="continue a run from its checkpoint (run folder or checkpoint file), in its folder and "
                        "with its settings; --epochs, --device and --no-cache may differ")
    _add_feature_flags(p)
    add_seed(p, s.seed)
    add_out(p, "caption-train")
    add_device(p)
    p.add_argument("--deterministic", action="store_true", default=s.deterministic,
                   help=s.__dataclass_fields__["deterministic"].metadata["help"])
    return p


def _int(p: argparse.ArgumentParser, flag: str, default: int, what: str = "") -> None:
    p.add_argument(flag, type=int, default=default, help=f"{what}{'; ' if what else ''}default {default}")


def _add_feature_flags(p: argparse.ArgumentParser) -> None:
    s = CaptionTrainSettings
    add_model(p)
    p.add_argument("--image-size", type=int, default=s.image_size,
                   help="side of the square view the backbone sees (default 224; 128 for shapes)")
    p.add_argument("--feature-layer", default=s.feature_layer, metavar="NAME",
                   help="take features from this backbone layer instead of the penultimate one")
    p.add_argument("--feature-grid", default=s.feature_grid, metavar="RxC",
                   help="average-pool the layer over an R x C grid instead of globally (e.g. 1x3)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")


def _eval_parser() -> ArgumentParser:
    s = CaptionEvalSettings
    p = ArgumentParser(prog="vislab caption eval",
                       description="Caption a split of a dataset and score it: BLEU-1..4 and CIDEr-D (0-1 "
                                   "scale, as pycocoevalcap reports them); writes captions.json next to the "
                                   "references.")
    p.add_argument("--checkpoint", required=True, metavar="CKPT",
                   help="a captioning checkpoint or its run folder")
    p.add_argument("--data", default=s.data, metavar="SPEC", help=DATA_HELP + " (default: the training data)")
    p.add_argument("--split", choices=SPLIT_CHOICES, default=s.split, help=f"default {s.split}")
    p.add_argument("--beam", type=int, default=s.beam, help=f"beam size (default {s.beam}: greedy)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")
    add_out(p, "caption-eval")
    add_device(p)
    return p


def run(args: argparse.Namespace) -> int:
    rest = list(args.rest)
    if rest and rest[0] in ("train", "eval"):
        parser = _train_parser() if rest[0] == "train" else _eval_parser()
        sub = parser.parse_args(rest[1:])
        if rest[0] == "train":
            _engine_for_cell(sub, rest[1:])
        configure_threads(sub.threads)
        return _train(sub) if rest[0] == "train" else _eval(sub)
    pargs = _predict_parser().parse_args(rest, namespace=args)
    configure_threads(pargs.threads)
    return _predict(pargs)


def _engine_for_cell(args: argparse.Namespace, given: list[str]) -> None:
    """The transformer trains on the torch engine only: `--cell transformer` without --engine picks it (an explicit
    --engine numpy is left for the settings to refuse, in one line)."""
    named = any(len(a.split("=")[0]) >= 4 and "--engine".startswith(a.split("=")[0]) for a in given)
    if args.cell == "transformer" and not named:
        args.engine = "torch"


# -- commands ------------------------------------------------------------------------------------------------

def _train(args: argparse.Namespace) -> int:
    from ..captioning.train import run as train

    result = run_job(train, settings_from(CaptionTrainSettings, args), args, "caption train")
    if result.main:
        s = result.settings
        val = ", ".join(f"{k} {v:.3f}" for k, v in result.val.items())
        print(f"trained {s.cell} ({s.engine}) for {s.epochs} epochs in {result.seconds:.0f} s; val: {val}")
        print(f"checkpoint: {result.checkpoint}")
        print(f"curves: {result.run_dir / 'curves.png'}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from ..captioning.evaluate import run as evaluate

    result = run_job(evaluate, settings_from(CaptionEvalSettings, args), args, "caption eval")
    print(f"{result.data} [{args.split}], {result.images} images, "
          f"{'greedy' if args.beam == 1 else f'beam {args.beam}'} decoding; scores on the 0-1 scale "
          "(as pycocoevalcap; papers print x100):")
    for k, v in result.scores.items():
        print(f"  {k:8s} {v:.4f}")
    print(f"captions: {result.files['captions']}")
    if result.unfamiliar:
        from ..captioning.evaluate import unfamiliar_summary

        print(f"vislab: warning: {unfamiliar_summary(result.unfamiliar, result.images)}", file=sys.stderr)
    return 0


def _predict(args: argparse.Namespace) -> int:
    from ..captioning import predict

    settings = settings_from(CaptionSettings, args)
    if args.out is not None or settings.attention:  # attention strips are pictures: they need a run folder
        result = run_job(predict.run, settings, args, "caption")
        records = result.records
        if settings.attention:
            print(f"attention maps: {result.run_dir}", file=sys.stderr)
    else:
        with flag_errors(settings):
            records = predict.describe(settings)
    if args.json:
        print(json.dumps(records))
    else:
        for r in records:
            print(f"{r['image']}: {r['caption']}")
    # One line per image the model has never seen the like of: its caption is not to be trusted.
    for line in predict.warning_lines(records):
        print(f"vislab: warning: {line}", file=sys.stderr)
    return 0
