"""vislab saliency IMAGE... : what the generated command (`cli.build`) prints: one line per image; --list-layers;
--evaluate, which runs the saliency-eval job (the same settings and outputs as `vislab saliency-eval`) on labelled
folders."""

from __future__ import annotations

import argparse
from typing import Any


def show(result: Any, settings: Any, args: argparse.Namespace) -> int:
    for row in result.rows:
        note = ""
        if "ig_steps" in row:
            note = (f" [ig: {row['ig_steps']} gradients from the {settings.baseline} baseline, attributions sum to "
                    f"the score difference within {row['ig_completeness_error']:.2%}]")
        print(f"{row['image']}: {row['title'].replace(chr(10), '; ')}{note} -> {row['figure']}")
    return 0


def add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--list-layers", nargs=0, action=_ListLayers,
                   help="print the model's layer names (for --layer) with their output shapes, and exit")
    p.add_argument("--evaluate", nargs=0, action=_Evaluate,
                   help="score --methods for faithfulness on labelled folders (a folder's labels.json gives the "
                        "classes) instead of drawing maps: the saliency-eval job, its table and files (default --out "
                        "runs/saliency-eval-<time>)")
    _add_evaluate_flags(p)
    # With --list-layers no image is needed: IMAGE becomes optional here, and the settings' own check refuses an
    # empty list when the command does run.
    for action in p._actions:
        if action.dest == "images":
            action.nargs, action.required = "*", False


class _ListLayers(argparse.Action):
    """Runs `list_layers` instead of the job (the parsed flags still choose the model)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        namespace.func = list_layers


def list_layers(args: argparse.Namespace) -> int:
    import torch

    from ..backbones.settings import ModelSettings
    from ..visualize.cam import default_layer, layer_shapes

    bb = ModelSettings(model=args.model, weights=args.weights, device=args.device).load_backbone()
    gray = torch.full((1, 3, bb.input_size, bb.input_size), 0.5, device=bb.device)
    shapes, default = layer_shapes(bb, gray), default_layer(bb, gray)
    width = max(map(len, shapes), default=0)
    for name, shape in shapes.items():
        mark = "  (default --layer)" if name == default else ""
        print(f"{name:<{width}}  {' x '.join(map(str, shape[1:]))}{mark}")
    return 0


# -- --evaluate: the saliency-eval job from the saliency command -----------------------------------------------------

EVAL_ONLY = ("methods", "road_fractions", "cascade")
"""saliency-eval's settings that the saliency command lacks: added as flags (used with --evaluate only)."""
NOT_EVALUATED = ("target", "method", "noise", "steps", "tol", "baseline", "baseline_samples")
"""saliency settings that saliency-eval does not take (each image's label is its target; --steps here is integrated
gradients'): refused with --evaluate unless left at their defaults."""


def _add_evaluate_flags(p: argparse.ArgumentParser) -> None:
    """saliency-eval's own flags, typed and described by its settings fields as the generated command does."""
    import dataclasses

    from ..registry import base_type, field_default, field_types
    from ..visualize.saliency_eval import SaliencyEvalSettings
    from .build import _help, _list_type, flag_name

    hints = field_types(SaliencyEvalSettings)
    for f in dataclasses.fields(SaliencyEvalSettings):
        if f.name in EVAL_ONLY:
            scalar, is_list = base_type(hints[f.name])
            default = field_default(f)
            p.add_argument(flag_name(f), dest=f.name, default=default, action=_EvaluationFlag,
                           type=_list_type(scalar) if is_list else scalar,
                           help="with --evaluate: " + _help(f, default))


class _EvaluationFlag(argparse._StoreAction):
    """Stores its value; without --evaluate (before or after it) the command refuses the flag instead of ignoring
    it."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        if getattr(namespace, "func", None) is not evaluate:
            namespace.func = _evaluation_flag_alone(option_string)


def _evaluation_flag_alone(flag: str | None) -> Any:
    def refuse(args: argparse.Namespace) -> int:
        from ..errors import ConfigError

        raise ConfigError(f"{flag} is used with --evaluate only (vislab saliency FOLDER --evaluate {flag} ...)")
    return refuse


class _Evaluate(argparse.Action):
    """Runs `evaluate` instead of the saliency job (the other parsed flags still apply)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        namespace.func = evaluate
        namespace.evaluate_parser = parser  # its defaults tell which saliency-only flags were changed


def evaluate(args: argparse.Namespace) -> int:
    """`vislab saliency FOLDER... --evaluate`: the saliency-eval job with the flags both commands share."""
    from ..errors import ConfigError
    from ..registry import get
    from .build import flag_name, run_command

    cap = get("saliency-eval")
    parser = args.evaluate_parser
    fields = {f.name: f for f in get("saliency").fields()}
    for name in NOT_EVALUATED:
        if getattr(args, name) != parser.get_default(name):
            raise ConfigError(f"{flag_name(fields[name])} is not used with --evaluate (each image is explained for "
                              f"its label; see vislab saliency-eval --help)")
    check_labelled_folders(args.images)
    values = {k: v for k, v in vars(args).items() if k not in NOT_EVALUATED}
    return run_command(cap, None, argparse.Namespace(**values))


def check_labelled_folders(specs: list[str]) -> None:
    """--evaluate scores maps against labels: every IMAGE must be a folder with a labels.json."""
    from pathlib import Path

    from ..errors import DataError

    if not specs:
        raise DataError("--evaluate needs a labelled folder (a folder with a labels.json)")
    for spec in specs:
        if not Path(spec).is_dir():
            raise DataError(f"{spec}: --evaluate takes labelled folders, not single images (vislab saliency-eval "
                            f"also takes images, explained for their predicted classes)")
        if not (Path(spec) / "labels.json").is_file():
            raise DataError(f"{spec}: no labels.json in this folder ({{\"relative/path.png\": class index}}), "
                            f"which --evaluate needs")
