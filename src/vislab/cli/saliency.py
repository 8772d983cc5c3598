"""vislab saliency IMAGE... : what the generated command (`cli.build`) prints: one line per image."""

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
