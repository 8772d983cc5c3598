"""The `Backbone`: a frozen pretrained classifier plus everything needed to feed it and read it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import ConfigError, ImageError
from ..images import resize_center_crop
from .classes import find_class, short_name


@dataclass
class Backbone:
    """A pretrained image classifier behind one small interface.

    Images go in as float tensors in [0, 1], shape (N, 3, H, W); `preprocess` applies the network's own
    normalization so callers never handle mean/std. `stages` is an ordered list of (name, module) whose composition
    followed by `head` is the whole network; it gives named feature layers and lets feature extraction stop early.
    For a user's own model `stages` is None: layers are then its `named_modules()`, read with forward hooks.
    """

    name: str
    model: nn.Module
    stages: list[tuple[str, nn.Module]] | None
    head: nn.Module | None
    classes: tuple[str, ...]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    input_size: int = 224
    resize_size: int | None = None
    default_content_layers: tuple[str, ...] = ()
    default_style_layers: tuple[str, ...] = ()
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def __post_init__(self) -> None:
        self.model.eval().to(self.device)
        for p in self.model.parameters():
            p.requires_grad_(False)
        self._mean = torch.tensor(self.mean, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(self.std, device=self.device).view(1, 3, 1, 1)

    # -- pixels <-> network input -------------------------------------------------------------------------------
    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] (N, 3, H, W) -> normalized network input (differentiable)."""
        _check_batch(images)
        return (images.to(self.device) - self._mean) / self._std

    def deprocess(self, x: torch.Tensor) -> torch.Tensor:
        """Inverse of `preprocess` (not clamped)."""
        return x * self._std + self._mean

    def prepare(self, image: torch.Tensor) -> torch.Tensor:
        """One loaded image (3, H, W) -> the classifier's view (1, 3, S, S): shorter side resized to `resize_size`
        (default: the input size, so the whole of a square photo is seen), then center cropped."""
        return resize_center_crop(image, self.input_size, resize_to=self.resize_size)[None].to(self.device)

    # -- outputs -------------------------------------------------------------------------------------------------
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Unnormalized class scores for images in [0, 1]."""
        return self.model(self.preprocess(images))

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return self.logits(images)

    def features(self, images: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """Activations of the named layers for images in [0, 1]; stops after the deepest one requested."""
        names = self.layer_names
        unknown = [n for n in layers if n not in names]
        if unknown:
            raise ConfigError(f"unknown layer name(s) {', '.join(map(repr, unknown))} for {self.name}; "
                              f"layers are: {', '.join(names)}")
        x = self.preprocess(images)
        if self.stages is None:
            return _hooked_features(self.model, x, layers)
        last = max(names.index(n) for n in layers) if layers else -1
        wanted = set(layers)
        out: dict[str, torch.Tensor] = {}
        for name, stage in self.stages[: last + 1]:
            x = stage(x)
            if name in wanted:
                out[name] = x
        return out

    def pooled_features(self, images: torch.Tensor) -> torch.Tensor:
        """The penultimate representation, (N, D): image features for captioning.

        For the built-in networks it is the global average of the last stage (the input of the classifier);
        for a user's model, the input of its last nn.Linear.
        """
        x = self.preprocess(images)
        if self.stages is None:
            return _last_linear_input(self.model, x)
        for _, stage in self.stages:
            x = stage(x)
        return x.mean(dim=(2, 3))

    @property
    def layer_names(self) -> list[str]:
        if self.stages is None:
            return [n for n, _ in self.model.named_modules() if n]
        return [n for n, _ in self.stages]

    # -- classes -------------------------------------------------------------------------------------------------
    def class_index(self, query: str | int) -> int:
        """Class index from an index or any synonym of a name, case-insensitive (``"tarantula"`` -> 76)."""
        return find_class(self.classes, query)

    def class_name(self, index: int) -> str:
        """Short display name of a class (its first synonym)."""
        return short_name(self.classes[index])


def _check_batch(images: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ImageError(f"expected a batch of RGB images (N, 3, H, W), got {shape}")


def _hooked_features(model: nn.Module, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
    modules = dict(model.named_modules())
    out: dict[str, torch.Tensor] = {}
    handles = [modules[n].register_forward_hook(lambda _m, _i, o, n=n: out.__setitem__(n, o)) for n in layers]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    return out


def _last_linear_input(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ConfigError("this model has no nn.Linear classifier layer to take penultimate features from")
    got: list[torch.Tensor] = []
    h = linears[-1].register_forward_hook(lambda _m, inp, _o: got.append(inp[0]))
    try:
        model(x)
    finally:
        h.remove()
    return got[-1].flatten(1)
