"""Every subcommand keeps its flags while commands move to the generated path (`vislab.cli.build`): the flag sets
below are a snapshot of the hand-written parsers taken before the move (option strings; positionals as
name:nargs). A flag added on purpose is added here too."""

from __future__ import annotations

import argparse

from vislab.cli import build_parser

SNAPSHOT = {
    "caption": ["--attention", "--beam", "--checkpoint", "--device", "--json", "--out", "--overwrite", "--threads",
                "images:+"],
    "caption eval": ["--beam", "--checkpoint", "--data", "--device", "--no-cache", "--out", "--overwrite", "--split",
                     "--threads"],
    "caption train": ["--attention", "--attention-grounding", "--batch-size", "--cell", "--data", "--deterministic",
                      "--device", "--dtype", "--ema", "--engine", "--epochs", "--eval-images", "--feature-grid",
                      "--feature-layer", "--hidden-dim", "--image-size", "--log-every", "--lr", "--lr-decay",
                      "--max-length", "--min-count", "--model", "--no-cache", "--out", "--overwrite", "--pca-dim",
                      "--resume", "--save-every", "--seed", "--threads", "--weights", "--wordvec-dim"],
    "classify": ["--batch-size", "--device", "--json", "--model", "--out", "--overwrite", "--threads", "--topk",
                 "--weights", "images:+"],
    "dream": ["--batch", "--blur-every", "--blur-sigma", "--channel", "--class", "--deepdream", "--device",
              "--diversity", "--jitter", "--l2-reg", "--lr", "--model", "--neuron", "--out", "--overwrite", "--param",
              "--seed", "--size", "--steps", "--threads", "--views", "--weights"],
    "fool": ["--device", "--linf", "--lr", "--margin", "--max-iters", "--model", "--out", "--overwrite", "--seed",
             "--target", "--threads", "--weights", "image:None"],
    "gan eval": ["--checkpoint", "--data", "--device", "--json", "--out", "--overwrite", "--quiet", "--raw", "--seed",
                 "--threads", "-n"],
    "gan sample": ["--checkpoint", "--device", "--out", "--overwrite", "--quiet", "--raw", "--seed", "--threads", "-n",
                   "-o/--output"],
    "gan train": ["--arch", "--batch-size", "--beta1", "--beta2", "--checkpoint-every", "--data", "--deterministic",
                  "--device", "--ema", "--epochs", "--eval-samples", "--limit", "--log-every", "--loss", "--lr",
                  "--max-steps", "--noise-dim", "--out", "--overwrite", "--quiet", "--resume", "--sample-every",
                  "--seed", "--spectral-norm", "--tensorboard", "--threads"],
    "invert": ["--coarse-factor", "--content-weight", "--device", "--image-size", "--iterations", "--layer", "--lr",
               "--model", "--optimizer", "--out", "--overwrite", "--save-every", "--scales", "--seed",
               "--stop-tolerance", "--threads", "--tv-weight", "--weights", "-o/--output", "image:None"],
    "report": ["--embed", "--title", "-o/--output", "runs:+"],
    "saliency": ["--baseline", "--baseline-samples", "--batch-size", "--cascade", "--device", "--evaluate", "--layer",
                 "--list-layers", "--max-steps", "--method", "--methods", "--model", "--noise", "--out", "--overwrite",
                 "--road-fractions", "--samples", "--seed", "--steps", "--stride", "--target", "--threads", "--tol",
                 "--weights", "--window", "images:*"],
    "serve": ["--host", "--max-memory", "--port", "--runs", "--workers"],
    "style": ["--coarse-factor", "--content-layer-weights", "--content-layers", "--content-weight", "--device",
              "--image-size", "--init", "--iterations", "--lr", "--model", "--optimizer", "--original-colors", "--out",
              "--overwrite", "--save-every", "--scales", "--seed", "--stop-tolerance", "--style-blend-weights",
              "--style-layer-weights", "--style-layers", "--style-scale", "--style-weight", "--threads",
              "--tv-weight", "--weights", "-o/--output", "content:None", "styles:*"],
    "texture": ["--coarse-factor", "--device", "--image-size", "--iterations", "--lr", "--model", "--optimizer",
                "--out", "--overwrite", "--save-every", "--scales", "--seed", "--stop-tolerance",
                "--style-layer-weights", "--style-layers", "--style-scale", "--style-weight", "--threads",
                "--tv-weight", "--weights", "-o/--output", "style:?"],
    "tour": ["--device", "--out", "--overwrite", "--quick", "--seed", "--steps", "--threads"],
}


def flags(parser: argparse.ArgumentParser) -> list[str]:
    out = []
    for a in parser._actions:
        if isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        out.append("/".join(a.option_strings) if a.option_strings else f"{a.dest}:{a.nargs}")
    return sorted(out)


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """Every (sub-)subcommand's parser, by its command words."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    found = {}
    for name, parser in sub.choices.items():
        found[name] = parser
        for a in parser._actions:
            if isinstance(a, argparse._SubParsersAction):
                found.update({f"{name} {n}": p for n, p in a.choices.items()})
    return found


def command_flags() -> dict[str, list[str]]:
    found = {name: flags(p) for name, p in subcommands().items()}
    found.pop("gan", None)  # only its actions
    try:  # caption parses the rest of its line itself (IMAGE... or train/eval)
        from vislab.cli.caption import _eval_parser, _predict_parser, _train_parser
    except ImportError:
        return found
    found.update({"caption": flags(_predict_parser()), "caption train": flags(_train_parser()),
                  "caption eval": flags(_eval_parser())})
    return found


def test_every_subcommand_keeps_its_flags():
    found = command_flags()
    for name, expected in SNAPSHOT.items():
        assert found.get(name) == expected, (name, sorted(set(found.get(name, [])) ^ set(expected)))
