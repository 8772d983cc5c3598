"""Class activation maps: where in a feature layer the evidence for a class lies, brought up to image size.

One base class, `CAM`, does the shared work: run the network with a hook on one named layer, keep that layer's
activations A (N, K, h, w) and, when the method needs them, the gradients G of the target class score with respect
to A; combine them into one (h, w) map per image; keep its positive part; upsample it bilinearly to the image and
scale it to [0, 1]. Each method overrides one step:

- `GradCAM` (Selvaraju et al., 2017): channel weights = the spatial mean of G.
- `GradCAMPlusPlus` (Chattopadhay et al., 2018): weights = sum of relu(G) * alpha, alpha from G^2, G^3 and sum(A).
- `ScoreCAM` (Wang et al., 2020): weights = softmax over channels of the class score of the image masked by each
  channel's upsampled, [0, 1]-scaled activation (no gradients).
- `LayerCAM` (Jiang et al., 2021): a per-position weight, relu(G), instead of one weight per channel.

The numbers follow jacobgil/pytorch-grad-cam 1.5.7 and captum's LayerGradCam (checked in
tests/visualize/test_cam_parity.py). The layer is any name `layer_names(model)` lists; by default the last one
whose output is still a spatial map (`default_layer`): for EfficientNet-Lite "head", for SqueezeNet "features.12".
A built-in backbone runs stage by stage (`Backbone.stages`) so each stage is a hookable module; a user's model
(``module:factory``) is hooked on its own named modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from ..backbones import Backbone
from ..errors import ConfigError
from ..jobs import SettingError
from .classifier import Model, as_batch, as_targets, model_device, scores_fn, target_scores
from .saliency import Explanation, Target

Forward = Callable[[torch.Tensor], torch.Tensor]


# -- layers ------------------------------------------------------------------------------------------------------
def _modules(model: Model) -> dict[str, nn.Module]:
    """The hookable layers by name: a built-in backbone's stages, else every named submodule."""
    if isinstance(model, Backbone):
        if model.stages is not None:
            return dict(model.stages)
        model = model.model
    return {name: m for name, m in model.named_modules() if name}


def layer_names(model: Model) -> list[str]:
    """The names `layer=` takes (for a Backbone, the same list as `Backbone.layer_names`)."""
    return list(_modules(model))


def staged_forward(model: Model) -> Forward:
    """images in [0, 1] -> logits, through modules that a hook on a layer of `layer_names` sees run (a built-in
    backbone's stages are not all called by its own forward, e.g. EfficientNet's head)."""
    if isinstance(model, Backbone) and model.stages is not None and model.head is not None:
        def forward(x: torch.Tensor) -> torch.Tensor:
            h = model.preprocess(x)
            for _, stage in model.stages:
                h = stage(h)
            return model.head(h)
        return forward
    return scores_fn(model)


def layer_shapes(model: Model, x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """Each layer's output shape for images `x`, in the order the layers ran (layers that did not run, or whose
    output is not one tensor, are left out)."""
    shapes: dict[str, tuple[int, ...]] = {}

    def hook(name: str) -> Callable:
        def record(_m: nn.Module, _i: object, out: object) -> None:
            if isinstance(out, torch.Tensor):
                shapes.pop(name, None)  # a module run twice counts where it last ran
                shapes[name] = tuple(out.shape)
        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in _modules(model).items()]
    try:
        with torch.no_grad():
            staged_forward(model)(x)
    finally:
        for h in handles:
            h.remove()
    return shapes


def default_layer(model: Model, x: torch.Tensor) -> str:
    """The last layer (in running order) whose output is a map (N, C, h, w) with more than one position."""
    shapes = layer_shapes(model, x[:1])
    spatial = [n for n, s in shapes.items() if len(s) == 4 and s[2] * s[3] > 1]
    if not spatial:
        raise ConfigError("this model has no layer with a spatial (N, C, H, W) output to take a class activation "
                          "map from")
    return spatial[-1]


def check_layer(model: Model, layer: str) -> nn.Module:
    modules = _modules(model)
    if layer not in modules:
        names = list(modules)
        shown = ", ".join(names[-30:]) + (f" (and {len(names) - 30} more)" if len(names) > 30 else "")
        raise SettingError("layer", f"{layer!r} is not a layer of this model; layers are: {shown}")
    return modules[layer]


def check_map(layer: str, seen: list[torch.Tensor]) -> None:
    """A CAM layer runs once per forward pass and gives (N, C, h, w) maps."""
    if len(seen) != 1 or seen[0].dim() != 4:
        raise SettingError("layer", f"{layer!r} must run once per forward pass and give an (N, C, H, W) map; it ran "
                                    f"{len(seen)} times" + (f" and gave shape {tuple(seen[0].shape)}" if seen else ""))


def check_cam_layer(model: Model, layer: str, x: torch.Tensor) -> None:
    """Refuse a layer that is unknown or gives no spatial map for images `x`, before any work is done."""
    with tap(check_layer(model, layer)) as seen, torch.no_grad():
        staged_forward(model)(x[:1])
    check_map(layer, seen)


@contextmanager
def tap(module: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Collects `module`'s output tensor on every forward pass while the block runs."""
    seen: list[torch.Tensor] = []

    def keep(_m: nn.Module, _i: object, out: object) -> None:
        if not isinstance(out, torch.Tensor):
            raise ConfigError(f"layer {type(_m).__name__} does not return one tensor; choose another layer")
        seen.append(out)

    handle = module.register_forward_hook(keep)
    try:
        yield seen
    finally:
        handle.remove()


def upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, h, w) -> (N, H, W), bilinear with pixel centres aligned as in cv2.resize (align_corners=False)."""
    return F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]


def scale01(maps: torch.Tensor) -> torch.Tensor:
    """Each map shifted and scaled to span [0, 1]; a constant map becomes zeros."""
    flat = maps.flatten(1)
    lo, hi = flat.amin(1, keepdim=True), flat.amax(1, keepdim=True)
    span = hi - lo
    out = torch.where(span > 0, (flat - lo) / span.clamp(min=torch.finfo(maps.dtype).tiny), torch.zeros_like(flat))
    return out.view_as(maps)


# -- the methods -------------------------------------------------------------------------------------------------
class CAM:
    """A class activation map at `layer` (None: `default_layer`). ``attribute(x, target)`` -> (N, H, W) in [0, 1];
    ``raw(x, target)`` -> (N, h, w), the map at the layer's resolution before scaling (ReLU applied).

    Subclasses override `weights` (one weight per channel) or `combine` (the whole map)."""

    uses_gradients = True
    name = "cam"

    def __init__(self, model: Model, layer: str | None = None, *, batch_size: int = 16) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        self.model, self.layer, self.batch_size = model, layer, batch_size
        self.forward = staged_forward(model)
        if layer is not None:
            check_layer(model, layer)

    def resolve_layer(self, x: torch.Tensor) -> str:
        if self.layer is None:
            self.layer = default_layer(self.model, x)
        return self.layer

    def activations_and_gradients(self, x: torch.Tensor, targets: torch.Tensor
                                  ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The layer's activations (N, K, h, w) and d score[i, targets[i]] / d activations (None when unused)."""
        module = check_layer(self.model, self.resolve_layer(x))
        if self.uses_gradients:  # a frozen backbone's activations need a path to something that requires grad
            x = x.detach().requires_grad_(True)
        with tap(module) as seen, torch.set_grad_enabled(self.uses_gradients):
            scores = self.forward(x)
        check_map(self.layer, seen)
        acts = seen[0]
        if not self.uses_gradients:
            target_scores(scores, targets)  # checks the targets
            return acts.detach(), None
        if not acts.requires_grad:
            raise ConfigError(f"the class scores do not depend on layer {self.layer!r}; choose another layer")
        (grads,) = torch.autograd.grad(target_scores(scores, targets).sum(), acts)
        return acts.detach(), grads

    def weights(self, x: torch.Tensor, targets: torch.Tensor, acts: torch.Tensor,
                grads: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def combine(self, x: torch.Tensor, targets: torch.Tensor, acts: torch.Tensor,
                grads: torch.Tensor | None) -> torch.Tensor:
        """(N, K, h, w) activations -> (N, h, w): the channels summed with `weights`."""
        return (self.weights(x, targets, acts, grads)[:, :, None, None] * acts).sum(dim=1)

    def raw(self, x: torch.Tensor, target: Target) -> torch.Tensor:
        x = as_batch(x).to(model_device(self.model))
        targets = as_targets(target, len(x), x.device)
        acts, grads = self.activations_and_gradients(x, targets)
        return self.combine(x, targets, acts, grads).clamp(min=0)

    def attribute(self, x: torch.Tensor, target: Target) -> torch.Tensor:
        x = as_batch(x)
        return scale01(upsample(self.raw(x, target), tuple(x.shape[-2:])))

    def explain(self, x: torch.Tensor, target: Target) -> Explanation:
        maps = self.attribute(x, target)
        return Explanation(maps, [{} for _ in maps])


class GradCAM(CAM):
    name = "gradcam"

    def weights(self, x: torch.Tensor, targets: torch.Tensor, acts: torch.Tensor,
                grads: torch.Tensor | None) -> torch.Tensor:
        return grads.mean(dim=(2, 3))


class GradCAMPlusPlus(CAM):
    """Weights from the paper's closed form for exponential scores (its eq. 19); positions with a zero gradient
    get alpha = 0 (the ReLU of its eq. 7)."""

    name = "gradcam++"
    eps = 1e-6  # keeps alpha finite where the denominator vanishes (as pytorch-grad-cam)

    def weights(self, x: torch.Tensor, targets: torch.Tensor, acts: torch.Tensor,
                grads: torch.Tensor | None) -> torch.Tensor:
        g2 = grads * grads
        total = acts.sum(dim=(2, 3), keepdim=True)
        alpha = g2 / (2 * g2 + total * g2 * grads + self.eps)
        alpha = torch.where(grads != 0, alpha, torch.zeros_like(alpha))
        return (grads.clamp(min=0) * alpha).sum(dim=(2, 3))


class ScoreCAM(CAM):
    """Channel weights from forward passes only: each channel's activation, upsampled (bilinear, corners aligned,
    as pytorch-grad-cam) and scaled to [0, 1], masks the image (pixels in [0, 1]: masking fades to black); the
    weights are the softmax over channels of the target's score on the masked images. One forward pass per
    channel that is not constant (on EfficientNet-Lite's head most are), `batch_size` at a time."""

    name = "scorecam"
    uses_gradients = False

    def weights(self, x: torch.Tensor, targets: torch.Tensor, acts: torch.Tensor,
                grads: torch.Tensor | None) -> torch.Tensor:
        masks = F.interpolate(acts, size=tuple(x.shape[-2:]), mode="bilinear", align_corners=True)
        flat = masks.flatten(2)
        lo, hi = flat.amin(2)[..., None, None], flat.amax(2)[..., None, None]
        masks = (masks - lo) / (hi - lo + 1e-8)
        constant = (hi == lo).flatten(1)  # a constant channel's mask is all zeros: one black image scores them all
        out = []
        with torch.no_grad():
            for xi, ti, mi, ci in zip(x, targets, masks, constant):
                scores = xi.new_empty(len(mi))
                if ci.any():
                    scores[ci] = target_scores(self.forward(torch.zeros_like(xi)[None]), ti[None])
                for idx in (~ci).nonzero()[:, 0].split(self.batch_size):
                    scores[idx] = target_scores(self.forward(xi[None] * mi[idx][:, None]), ti.expand(len(idx)))
                out.append(scores.softmax(dim=0))
        return torch.stack(out)


class LayerCAM(CAM):
    name = "layercam"

    def combine(self, x: torch.Tensor, targets: torch.Tensor, acts: torch.Tensor,
                grads: torch.Tensor | None) -> torch.Tensor:
        return (grads.clamp(min=0) * acts).sum(dim=1)


CAMS: dict[str, type[CAM]] = {c.name: c for c in (GradCAM, GradCAMPlusPlus, ScoreCAM, LayerCAM)}

__all__ = ["CAM", "GradCAM", "GradCAMPlusPlus", "ScoreCAM", "LayerCAM", "CAMS", "layer_names", "default_layer",
           "layer_shapes", "staged_forward", "upsample", "scale01"]
