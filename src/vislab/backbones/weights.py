"""Loading state dicts into backbone definitions, with errors that say what is wrong."""

from __future__ import annotations

import os

import torch
from torch import nn

from ..errors import WeightsError
from ..runs import describe_load_error


def load_state_dict_file(model: nn.Module, path: str | os.PathLike, name: str) -> None:
    """Load a state dict file (``weights_only``) into `model`, strictly; a mismatch names the first bad keys."""
    if not os.path.isfile(path):
        raise WeightsError(f"{path}: weights file for {name} not found")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure to unpickle means an unusable file
        raise WeightsError(f"{path}: not a readable PyTorch weights file ({describe_load_error(e)})") from e
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        raise WeightsError(f"{path}: expected a state dict, found {type(sd).__name__}")
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    wrong = [k for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} keys (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[0]})")
        if wrong:
            parts.append(f"{len(wrong)} keys with wrong shapes (e.g. {wrong[0]}: {tuple(sd[wrong[0]].shape)} vs "
                         f"{tuple(own[wrong[0]].shape)})")
        raise WeightsError(f"{path}: does not fit {name}: " + "; ".join(parts))
    model.load_state_dict(sd, strict=True)
