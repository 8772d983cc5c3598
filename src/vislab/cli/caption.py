"""vislab caption: caption images with a trained model; ``caption train`` and ``caption eval``.

    vislab caption IMAGE... --checkpoint CKPT [--beam 3]
    vislab caption train [--data shapes] [--cell lstm] [--engine numpy|torch] ...
    vislab caption eval --checkpoint CKPT [--data SPEC] [--split test]

argparse cannot mix "IMAGE..." with sub-subcommands, so ``caption`` takes the rest of the command line and
picks the parser by its first word.
"""

from __future__ import annotations

import argparse
import json
import os

from . import ArgumentParser, configure_threads
from .common import add_device, add_model, add_out, add_seed, positive_float, positive_int

DATA_HELP = ("shapes (built-in, default), shapes:N, coco:CAPTIONS_JSON:IMAGE_DIR, "
             "karpathy:DATASET_JSON:IMAGE_DIR, or cs231n:DIR")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "caption", help="image captioning: caption images, train, evaluate (BLEU, CIDEr-D)",
        description="Caption images with a trained model, or train / evaluate one:\n"
                    "  vislab caption IMAGE... --checkpoint CKPT [--beam 3]\n"
                    "  vislab caption train [--data shapes] [--cell lstm] [--engine numpy|torch] ...  (see "
                    "`vislab caption train --help`)\n"
                    "  vislab caption eval --checkpoint CKPT [--data SPEC] [--split test]",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_predict_flags(p)
    p.add_argument("rest", nargs=argparse.REMAINDER, metavar="IMAGE... | train ... | eval ...",
                   help="image files to caption, or the word train / eval followed by its flags")
    p.set_defaults(func=run)


def _add_predict_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", metavar="CKPT", help="a captioning checkpoint (or its run folder)")
    p.add_argument("--beam", type=positive_int, default=1, help="beam size (default 1: greedy decoding)")
    p.add_argument("--json", action="store_true", help="print one JSON list instead of lines")
    add_device(p)


def _predict_parser() -> ArgumentParser:
    p = ArgumentParser(prog="vislab caption", description="Caption image files with a trained model.")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    _add_predict_flags(p)
    return p


def _train_parser() -> ArgumentParser:
    from ..captioning.train import TrainConfig

    d = TrainConfig()
    p = ArgumentParser(prog="vislab caption train",
                       description="Train a captioning model (Adam, per-epoch validation loss and BLEU, "
                                   "checkpoints). Under torchrun, --engine torch trains with DDP.")
    p.add_argument("--data", default=d.data, metavar="SPEC", help=DATA_HELP)
    p.add_argument("--cell", choices=["rnn", "lstm", "gru"], default=d.cell, help=f"default {d.cell}")
    p.add_argument("--engine", choices=["numpy", "torch"], default=d.engine,
                   help="numpy (hand-written backprop) or torch (autograd; GPU, torchrun); default numpy")
    p.add_argument("--epochs", type=positive_int, default=None, help=f"default {d.epochs}")
    p.add_argument("--batch-size", type=positive_int, default=d.batch_size, help=f"captions per step "
                   f"(the global batch under torchrun); default {d.batch_size}")
    p.add_argument("--lr", type=positive_float, default=d.lr, help=f"Adam learning rate; default {d.lr}")
    p.add_argument("--lr-decay", type=positive_float, default=d.lr_decay,
                   help=f"lr multiplier after every epoch; default {d.lr_decay}")
    p.add_argument("--hidden-dim", type=positive_int, default=d.hidden_dim, help=f"default {d.hidden_dim}")
    p.add_argument("--wordvec-dim", type=positive_int, default=d.wordvec_dim, help=f"default {d.wordvec_dim}")
    p.add_argument("--max-length", type=positive_int, default=d.max_length,
                   help=f"words per caption, longer ones are cut; default {d.max_length}")
    p.add_argument("--min-count", type=positive_int, default=d.min_count,
                   help=f"rarer training words become <UNK>; default {d.min_count}")
    p.add_argument("--pca-dim", type=positive_int, default=None, help="reduce image features to this many "
                   "dimensions with PCA (fitted on the train split); default: keep all")
    p.add_argument("--dtype", choices=["float32", "float64"], default=d.dtype, help="default float32")
    p.add_argument("--save-every", type=int, default=d.save_every,
                   help="also checkpoint every N steps (default 0: after each epoch)")
    p.add_argument("--log-every", type=positive_int, default=d.log_every, help=f"default {d.log_every}")
    p.add_argument("--eval-images", type=int, default=d.eval_images,
                   help=f"val images captioned for BLEU after each epoch (0: all); default {d.eval_images}")
    p.add_argument("--resume", metavar="RUN", default=None,
                   help="continue a run from its checkpoint (run folder or checkpoint file); its settings "
                        "are kept, only --epochs may be raised")
    _add_feature_flags(p)
    add_seed(p)
    add_out(p, "caption-train")
    add_device(p)
    return p


def _add_feature_flags(p: argparse.ArgumentParser) -> None:
    add_model(p)
    p.add_argument("--image-size", type=positive_int, default=None,
                   help="side of the square view the backbone sees (default 224; 128 for shapes)")
    p.add_argument("--feature-layer", default=None, metavar="NAME",
                   help="take features from this backbone layer instead of the penultimate one")
    p.add_argument("--feature-grid", default=None, metavar="RxC",
                   help="average-pool the layer over an R x C grid instead of globally (e.g. 1x3)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")


def _eval_parser() -> ArgumentParser:
    p = ArgumentParser(prog="vislab caption eval",
                       description="Caption a split of a dataset and score it: BLEU-1..4 and CIDEr-D (0-1 "
                                   "scale, as pycocoevalcap reports them); writes captions.json next to the "
                                   "references.")
    p.add_argument("--checkpoint", required=True, metavar="CKPT",
                   help="a captioning checkpoint or its run folder")
    p.add_argument("--data", default=None, metavar="SPEC", help=DATA_HELP + " (default: the training data)")
    p.add_argument("--split", choices=["train", "val", "test", "all"], default="test", help="default test")
    p.add_argument("--beam", type=positive_int, default=1, help="beam size (default 1: greedy)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")
    add_out(p, "caption-eval")
    add_device(p)
    return p


def run(args: argparse.Namespace) -> int:
    rest = list(args.rest)
    if rest and rest[0] == "train":
        targs = _train_parser().parse_args(rest[1:])
        configure_threads(targs.threads)
        return _train(targs)
    if rest and rest[0] == "eval":
        eargs = _eval_parser().parse_args(rest[1:])
        configure_threads(eargs.threads)
        return _eval(eargs)
    pargs = _predict_parser().parse_args(rest, namespace=args)
    configure_threads(pargs.threads)
    return _predict(pargs)


# -- commands ------------------------------------------------------------------------------------------------

def _feature_spec(args: argparse.Namespace, data_spec: str):
    from ..captioning.data import default_feature_spec
    from ..errors import ConfigError

    grid = None
    if args.feature_grid:
        try:
            r, c = (int(v) for v in args.feature_grid.lower().split("x"))
            assert r > 0 and c > 0
            grid = (r, c)
        except (ValueError, AssertionError) as e:
            raise ConfigError(f"--feature-grid {args.feature_grid}: expected RxC, e.g. 1x3") from e
    return default_feature_spec(data_spec, backbone=args.model, weights=args.weights,
                                image_size=args.image_size, layer=args.feature_layer, grid=grid)


def _train(args: argparse.Namespace) -> int:
    from .. import runs
    from ..captioning import checkpoint as ckpt
    from ..captioning.data import load_data, write_samples
    from ..captioning.features import FeatureSpec
    from ..captioning.train import TrainConfig, train
    from ..captioning.vocab import Vocabulary
    from ..distributed import torchrun_world_size
    from ..errors import ConfigError

    if torchrun_world_size() > 1 and not (args.out or args.resume):
        raise ConfigError("under torchrun give --out, so that every process writes to the same run folder")
    resume = None
    if args.resume:
        resume = ckpt.read(args.resume)
        cfg = TrainConfig.from_dict(resume["config"])
        if args.epochs is not None:
            cfg.epochs = args.epochs
        run_dir = ckpt.checkpoint_path(args.resume).parent
        if int(os.environ.get("RANK", "0")) == 0:
            run_dir = runs.make_run_dir(run_dir, "caption-train", resume=True)
        spec = FeatureSpec.from_dict(cfg.feature_spec) if cfg.feature_spec else None
        vocab = Vocabulary(resume["vocab"])
    else:
        cfg = TrainConfig(
            data=args.data, cell=args.cell, engine=args.engine, batch_size=args.batch_size, lr=args.lr,
            lr_decay=args.lr_decay, hidden_dim=args.hidden_dim, wordvec_dim=args.wordvec_dim, seed=args.seed,
            max_length=args.max_length, min_count=args.min_count, pca_dim=args.pca_dim, dtype=args.dtype,
            device=args.device, save_every=args.save_every, log_every=args.log_every,
            eval_images=args.eval_images)
        if args.epochs is not None:
            cfg.epochs = args.epochs
        cfg.check()
        spec, vocab, run_dir = _feature_spec(args, args.data), None, None
    data = load_data(cfg.data, feature_spec=spec, vocab=vocab, max_length=cfg.max_length,
                     min_count=cfg.min_count, device=args.device, cache=not args.no_cache)
    cfg.feature_spec = data.feature_spec.as_dict() if data.feature_spec else None
    main_process = int(os.environ.get("RANK", "0")) == 0
    if run_dir is None:
        run_dir = runs.make_run_dir(args.out, "caption-train", overwrite=args.overwrite) if main_process else args.out
    if main_process:
        write_samples(data, run_dir)
    result = train(data, cfg, run_dir, resume=resume)
    if main_process:
        val = ", ".join(f"{k} {v:.3f}" for k, v in result.val.items())
        print(f"trained {cfg.cell} ({cfg.engine}) for {cfg.epochs} epochs in {result.seconds:.0f} s; "
              f"val: {val}")
        print(f"checkpoint: {run_dir / ckpt.FILENAME}")
        print(f"curves: {run_dir / 'curves.png'}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from .. import runs
    from ..captioning.checkpoint import Captioner, read
    from ..captioning.data import load_data
    from ..captioning.evaluate import evaluate, write_evaluation

    captioner = Captioner.load(args.checkpoint)
    data_spec = args.data or read(args.checkpoint)["config"]["data"]
    data = load_data(data_spec, feature_spec=captioner.feature_spec, vocab=captioner.vocab,
                     max_length=captioner.max_length, device=args.device, cache=not args.no_cache)
    ev = evaluate(captioner, data, args.split, beam=args.beam)
    out = runs.make_run_dir(args.out, "caption-eval", overwrite=args.overwrite)
    runs.write_config(out, {"checkpoint": str(args.checkpoint), "data": data_spec, "split": args.split,
                            "beam": args.beam})
    runs.MetricsLog(out).log(0, images=len(ev.records), **ev.scores)
    path = write_evaluation(ev, out)
    print(f"{data_spec} [{args.split}], {len(ev.records)} images, "
          f"{'greedy' if args.beam == 1 else f'beam {args.beam}'} decoding; scores on the 0-1 scale "
          "(as pycocoevalcap; papers print x100):")
    for k, v in ev.scores.items():
        print(f"  {k:8s} {v:.4f}")
    print(f"captions: {path}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from ..captioning.checkpoint import Captioner
    from ..captioning.evaluate import caption_images
    from ..errors import ConfigError

    if not args.checkpoint:
        raise ConfigError("give --checkpoint CKPT (a captioning checkpoint, or the run folder of "
                          "`caption train`)")
    captioner = Captioner.load(args.checkpoint)
    caps = caption_images(captioner, args.images, beam=args.beam, device=args.device)
    if args.json:
        print(json.dumps([{"image": p, "caption": c} for p, c in zip(args.images, caps)]))
    else:
        for p, c in zip(args.images, caps):
            print(f"{p}: {c}")
    return 0


