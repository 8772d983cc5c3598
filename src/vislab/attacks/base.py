"""What every attack shares: the model as a map from [0, 1] pixels to logits, the loss it climbs, and who is
fooled.

The attacks take a vislab `Backbone` (which applies its own normalization inside `logits`) or any
``nn.Module`` that already maps [0, 1] images to logits, so budgets are always in [0, 1] pixel units and
normalization never leaks to the caller (torchattacks #1, #68, #145: attacks on models that normalize).
`PixelModel` wraps a Backbone as such an ``nn.Module`` for code that wants one (torchattacks, foolbox).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..backbones import NAMES, Backbone
from ..visualize.classifier import as_batch, as_targets, check_targets, scores_fn

Logits = Callable[[torch.Tensor], torch.Tensor]


class PixelModel(nn.Module):
    """A Backbone as an ``nn.Module`` on [0, 1] images: ``forward(x01) = bb.logits(x01)``.

    Always in eval mode, like the frozen Backbone: ``train()`` is a no-op. torchattacks, for one, remembers the
    module's mode before an attack and restores it after; a module left in its default training mode would come
    back with the network's BatchNorm on batch statistics (updating its running averages on every call)."""

    def __init__(self, backbone: Backbone) -> None:
        super().__init__()
        self.backbone = backbone
        self.net = backbone.model  # registered so parameters() reach the network
        self.eval()

    def train(self, mode: bool = True) -> PixelModel:
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone.logits(x)


def logits_fn(model: Backbone | nn.Module) -> Logits:
    """[0, 1] images -> logits (N, C) for a Backbone or a plain module.

    vislab's own networks (`backbones.NAMES`) on the CPU get their input in channels-last layout: oneDNN runs
    their depthwise convolutions forward and backward on it about twice as fast, a forward + backward pass of
    EfficientNet-Lite0 about 18% faster (bench/attacks.py, docs/attacks.md), with the same values up to float
    rounding. A user's module gets the input as given: its forward may ``.view``
    an activation, which raises on a channels-last tensor."""
    forward = scores_fn(model)
    if isinstance(model, Backbone) and model.name in NAMES and torch.device(model.device).type == "cpu":
        return lambda x: forward(x.contiguous(memory_format=torch.channels_last))
    return forward


def prepare(images: torch.Tensor, labels: int | Sequence[int] | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as a detached (N, 3, H, W) batch in [0, 1] and one label per image, on the images' device."""
    x = as_batch(images, "attack input").detach()
    return x.clamp(0, 1), as_targets(labels, len(x), x.device)


def batch_loss(logits: torch.Tensor, labels: torch.Tensor, targeted: bool, *, check: bool = True) -> torch.Tensor:
    """The cross-entropy the attacks climb: away from the labels, or (targeted) down towards them.

    Averaged over the batch exactly as torchattacks does (``nn.CrossEntropyLoss()``): the gradient is used only
    through its sign or direction, so the 1/N does not matter, and the same reduction gives the same float
    rounding, hence the same signs of near-zero gradient components. `check`: that the labels index the logits
    (once per attack is enough)."""
    if check:
        check_targets(logits, labels)
    ce = nn.functional.cross_entropy(logits, labels)
    return -ce if targeted else ce


def input_grad(forward: Logits, x: torch.Tensor, labels: torch.Tensor, targeted: bool) -> torch.Tensor:
    """d(loss)/d(pixels) for every image (the parameters are never touched)."""
    return logits_and_grad(forward, x, labels, targeted)[1]


def logits_and_grad(forward: Logits, x: torch.Tensor, labels: torch.Tensor, targeted: bool, *,
                    check: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """The logits at `x` (detached) and d(loss)/d(pixels), from one forward and one backward pass."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = forward(x)
        (g,) = torch.autograd.grad(batch_loss(logits, labels, targeted, check=check), x)
    return logits.detach(), g


def fooled(logits: torch.Tensor, labels: torch.Tensor, targeted: bool) -> torch.Tensor:
    """Boolean per image: the prediction is the target (targeted) or is not the label (untargeted)."""
    pred = logits.argmax(dim=1)
    return pred == labels if targeted else pred != labels


def generator(seed: int | None, device: torch.device) -> torch.Generator | None:
    """A generator on `device` seeded with `seed` (None: torch's global generator)."""
    return None if seed is None else torch.Generator(device=device).manual_seed(int(seed))
