"""Feature-visualization objectives (Olah et al., "Feature Visualization", Distill 2017; lucid / lucent's
``objectives``): what an image is optimized to *maximize*.

Each objective is a small object that names the layers it reads (`layers`) and, called on the captured
activations of one forward pass, returns a scalar to maximize::

    obj = channel("block5", 17) + 0.5 * layer("block3") - 2 * neuron("block8", 3)
    acts = capture(model, images, obj.layers)   # one forward for every layer the sum reads
    obj(acts)

- `class_logit(c)`: the class score s_c (mean over the batch): the class visualization's objective.
- `channel(layer, c)`: the mean activation of channel c of `layer` (over batch and positions).
- `neuron(layer, c, x, y)`: channel c at one position (the centre by default: lucent's choice, the lower
  right of the central 2x2 for even sides).
- `layer(layer)`: DeepDream (Mordvintsev et al., 2015): the mean of the squared activations of `layer`.
- `diversity(layer)`: for a batch of N images, minus the cosine similarities of their Gram matrices at
  `layer`, summed over ordered pairs and divided by N (exactly lucent's ``diversity``): weighted into a sum, it
  pushes N images of one channel apart.

Signs: lucent's objectives are losses (minimized), so vislab's `channel`, `neuron` and `layer` are minus
lucent's; lucent's ``diversity`` already returns minus the similarity, and vislab's equals it.

When a batch holds several random views of each image (the Fourier parameterization), it is view-major
(``views`` blocks of the same ``images`` images): `diversity` compares images within each view and averages
over the views, so copies of one image are never pushed apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

from ..backbones import Backbone
from ..errors import ConfigError
from .classifier import Model, scores_fn

LOGITS = "<logits>"
"""The key of the class scores among the captured activations (no module name can hold '<')."""

Activations = Mapping[str, torch.Tensor]


class Objective:
    """A quantity to maximize, read from captured activations. `layers`: the layers it needs (LOGITS for the
    class scores); `name`: a short label for titles and metrics."""

    layers: tuple[str, ...] = ()
    name: str = "objective"

    def __call__(self, acts: Activations, images: int | None = None) -> torch.Tensor:
        raise NotImplementedError

    def terms(self) -> tuple[tuple[float, Objective], ...]:
        return ((1.0, self),)

    def __add__(self, other: Objective) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return Sum(self.terms() + other.terms())

    def __radd__(self, other: object) -> Objective:
        if other == 0:  # sum([...]) starts from 0
            return self
        return NotImplemented

    def __sub__(self, other: Objective) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return self + (-1.0) * other

    def __mul__(self, weight: float) -> Objective:
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            return NotImplemented
        return Sum(tuple((float(weight) * w, o) for w, o in self.terms()))

    __rmul__ = __mul__

    def __truediv__(self, weight: float) -> Objective:
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            return NotImplemented
        return self * (1.0 / weight)

    def __neg__(self) -> Objective:
        return -1.0 * self

    def __repr__(self) -> str:
        return self.name


class Sum(Objective):
    """sum_i w_i * objective_i; every term reads the same captured activations."""

    def __init__(self, terms: tuple[tuple[float, Objective], ...]) -> None:
        self._terms = terms
        self.layers = tuple(dict.fromkeys(n for _, o in terms for n in o.layers))
        self.name = " ".join(f"{'+' if w >= 0 else '-'} {'' if abs(w) == 1 else f'{abs(w):g} * '}{o.name}"
                             for w, o in terms).removeprefix("+ ")

    def terms(self) -> tuple[tuple[float, Objective], ...]:
        return self._terms

    def __call__(self, acts: Activations, images: int | None = None) -> torch.Tensor:
        return sum(w * o(acts, images) for w, o in self._terms)  # type: ignore[return-value]


class ClassLogit(Objective):
    def __init__(self, target: int) -> None:
        self.target, self.layers, self.name = int(target), (LOGITS,), f"logit {int(target)}"

    def __call__(self, acts: Activations, images: int | None = None) -> torch.Tensor:
        return acts[LOGITS][:, self.target].mean()


class Channel(Objective):
    def __init__(self, layer: str, channel: int) -> None:
        self.layer, self.channel = layer, int(channel)
        self.layers, self.name = (layer,), f"{layer}:{self.channel}"

    def __call__(self, acts: Activations, images: int | None = None) -> torch.Tensor:
        return _spatial(acts[self.layer], self.name)[:, self.channel].mean()


class Neuron(Objective):
    def __init__(self, layer: str, channel: int, x: int | None = None, y: int | None = None) -> None:
        self.layer, self.channel, self.x, self.y = layer, int(channel), x, y
        where = "" if x is None and y is None else f"@{'c' if x is None else x},{'c' if y is None else y}"
        self.layers, self.name = (layer,), f"neuron {layer}:{self.channel}{where}"

    def position(self, act: torch.Tensor) -> tuple[int, int]:
        """(x, y) in the layer's grid: the given one, else the centre (lucent: side // 2)."""
        h, w = act.shape[-2:]
        return (w // 2 if self.x is None else self.x), (h // 2 if self.y is None else self.y)

    def __call__(self, acts: Activations, images: int | None = None) -> torch.Tensor:
        act = _spatial(acts[self.layer], self.name)
        x, y = self.position(act)
        return act[:, self.channel, y, x].mean()


class Layer(Objective):
    def __init__(self, layer: str) -> None:
        self.layer, self.layers, self.name = layer, (layer,), f"deepdream {layer}"

    def __call__(self, acts: Activations, images: int | None = None) -> torch.Tensor:
        return (acts[self.layer] ** 2).mean()


class Diversity(Objective):
    def __init__(self, layer: str) -> None:
        self.layer, self.layers, self.name = layer, (layer,), f"diversity {layer}"

    def __call__(self, acts: Activations, images: int | None = None) -> torch.Tensor:
        act = _spatial(acts[self.layer], self.name)
        n = images or act.shape[0]
        if n < 2:
            return act.new_zeros(())
        views = act.reshape(-1, n, act.shape[1], act.shape[2] * act.shape[3])  # (views, N, C, positions)
        grams = F.normalize(views @ views.transpose(-1, -2), p=2, dim=(-2, -1))  # unit Frobenius norm
        sim = torch.einsum("vicd,vjcd->vij", grams, grams)
        off = sim.sum(dim=(1, 2)) - sim.diagonal(dim1=1, dim2=2).sum(dim=1)  # pairs i != j
        return -(off / n).mean()


def class_logit(target: int) -> Objective:
    """The class score s_target (unnormalized logit), averaged over the batch."""
    return ClassLogit(target)


def channel(layer: str, index: int) -> Objective:
    """The mean activation of channel `index` of `layer`."""
    return Channel(layer, index)


def neuron(layer: str, index: int, x: int | None = None, y: int | None = None) -> Objective:
    """Channel `index` of `layer` at column `x`, row `y` of its grid (None: the centre)."""
    return Neuron(layer, index, x, y)


def layer(name: str) -> Objective:
    """DeepDream: the mean squared activation of the layer `name`."""
    return Layer(name)


deepdream = layer


def diversity(layer: str) -> Objective:
    """Minus the Gram-matrix cosine similarities between the batch's images at `layer` (lucent's
    ``diversity``); add it with a weight to an objective of N images."""
    return Diversity(layer)


def _spatial(act: torch.Tensor, what: str) -> torch.Tensor:
    if act.dim() != 4:
        raise ConfigError(f"{what}: needs a layer with (N, C, H, W) activations, got shape {tuple(act.shape)}")
    return act


# -- one forward pass for every layer an objective reads ----------------------------------------------------------

def layer_names(model: Model) -> list[str]:
    """The layers objectives may name: Backbone.layer_names, or a plain module's named_modules()."""
    if isinstance(model, Backbone):
        return model.layer_names
    return [n for n, _ in model.named_modules() if n]


def check_layers(model: Model, names: Sequence[str]) -> None:
    """ConfigError naming the unknown layers and listing the valid ones."""
    valid = layer_names(model)
    unknown = [n for n in names if n != LOGITS and n not in valid]
    if unknown:
        raise ConfigError(f"unknown layer name(s) {', '.join(map(repr, unknown))}; layers are: {', '.join(valid)}")


def capture(model: Model, images: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
    """Activations of `layers` (LOGITS: the class scores) for images in [0, 1], from one forward pass that
    stops after the deepest layer needed."""
    names = [n for n in dict.fromkeys(layers) if n != LOGITS]
    if not names:
        return {LOGITS: scores_fn(model)(images)}
    check_layers(model, names)
    want_logits = LOGITS in layers
    if isinstance(model, Backbone) and model.stages is not None:
        if not want_logits:
            return model.features(images, names)
        x, out = model.preprocess(images), {}
        for name, stage in model.stages:
            x = stage(x)
            out[name] = x
        # The backbone is its stages followed by `head`.
        scores = model.head(x) if model.head is not None else model.logits(images)
        return {**{n: out[n] for n in names}, LOGITS: scores}
    return _hooked(model, images, names, want_logits)


def _hooked(model: Model, images: torch.Tensor, names: list[str], want_logits: bool) -> dict[str, torch.Tensor]:
    net = model.model if isinstance(model, Backbone) else model
    modules = dict(net.named_modules())
    out: dict[str, torch.Tensor] = {}
    handles = [modules[n].register_forward_hook(lambda _m, _i, o, n=n: out.__setitem__(n, o)) for n in names]
    try:
        scores = scores_fn(model)(images)
    finally:
        for h in handles:
            h.remove()
    return {**out, LOGITS: scores} if want_logits else out


def evaluator(objective: Objective, model: Model):  # noqa: ANN201 (a closure)
    """images -> (objective value, captured activations), for an optimization loop."""
    layers = objective.layers

    def evaluate(images: torch.Tensor, n_images: int | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        acts = capture(model, images, layers)
        return objective(acts, n_images), acts

    return evaluate


def parse_unit(text: str, what: str, *, position: bool = False) -> tuple[str, int, int | None, int | None]:
    """'LAYER:INDEX' (and for neurons optionally 'LAYER:INDEX:X,Y') -> (layer, index, x, y); ValueError with
    the expected form otherwise."""
    form = "LAYER:INDEX" + ("[:X,Y]" if position else "")
    parts = str(text).split(":")
    if len(parts) not in ((2, 3) if position else (2,)) or not parts[0].strip():
        raise ValueError(f"must be {form}, e.g. block5:17; got {text!r}")
    try:
        index = int(parts[1])
        x, y = (int(v) for v in parts[2].split(",")) if len(parts) == 3 else (None, None)
    except ValueError:
        raise ValueError(f"must be {form} with whole numbers, e.g. block5:17; got {text!r}") from None
    if index < 0 or (x is not None and x < 0) or (y is not None and y < 0):
        raise ValueError(f"must be {form} with numbers >= 0; got {text!r}")
    return parts[0].strip(), index, x, y
