"""Image parameterizations for class visualization: what the optimizer changes to grow an image (as in lucid /
lucent, where ``param_f`` chooses between pixels and a decorrelated Fourier image).

Each parameterization is a small settings object with its own defaults and checks; ``start(...)`` gives a
`Search` whose ``step()`` takes one optimization step up an objective (`vislab.visualize.objectives`: a class
score, a channel, a neuron, a layer, their sums) and returns the objective's value and the activations at the
images it just scored, and whose ``image()`` is the current batch of images in [0, 1]. `create_visualization`
runs any of them with the same loop.

- `PixelParameterization`: the classic loop. Start from noise; each step roll the image by a random jitter,
  take one L2-normalized gradient-ascent step on s_y(I) - l2_reg * ||I - 0.5||^2, roll back, clamp to [0, 1],
  and blur now and then. (The image is measured from mid-gray, the [0, 1]-pixel version of cs231n's
  mean-subtracted image.)
- `FourierParameterization`: the image is a `FourierImage` (a decorrelated, 1/f-scaled spectrum through a
  sigmoid), optimized with Adam on the target's score averaged over `views` randomly zoomed, rotated and
  shifted copies. Slower per step, but the images look like things rather than textures of edges.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Protocol

import torch

from ..backbones.settings import check_count
from ..jobs import SettingError, check_number
from .augment import gaussian_blur, jitter, random_affine
from .classifier import target_scores
from .fourier import FourierImage

Forward = Callable[[torch.Tensor], torch.Tensor]
Evaluate = Callable[[torch.Tensor, int], tuple[torch.Tensor, Mapping[str, torch.Tensor]]]
"""(images, how many distinct images) -> (objective value to maximize, captured activations)."""

MAX_LR = 1e6
MAX_WEIGHT = 1e6
"""Bounds far beyond any useful step size or penalty weight, low enough that float32 steps cannot overflow to
infinity (and then NaN)."""


class Search(Protocol):
    def step(self) -> tuple[float, Mapping[str, torch.Tensor]]: ...
    def image(self) -> torch.Tensor: ...


def ascent_step(img: torch.Tensor, forward: Forward, targets: torch.Tensor, l2_reg: float,
                lr: float) -> torch.Tensor:
    """One step of length `lr` (L2, per image) up the gradient of s_y(I) - l2_reg * ||I - 0.5||^2, in place on
    `img` (N, 3, H, W); returns the scores of `img` before the step."""
    x = img.detach().requires_grad_(True)
    with torch.enable_grad():
        scores = forward(x)
        objective = target_scores(scores, targets).sum() - l2_reg * ((x - 0.5) ** 2).sum()
        (g,) = torch.autograd.grad(objective, x)
    with torch.no_grad():
        norms = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        img.add_((lr * g / norms).view_as(img))
    return scores.detach()


def objective_ascent_step(img: torch.Tensor, evaluate: Evaluate, l2_reg: float,
                          lr: float) -> tuple[torch.Tensor, Mapping[str, torch.Tensor]]:
    """`ascent_step` for any objective: a step of length `lr` (L2, per image) up N * objective(I) - l2_reg *
    ||I - 0.5||^2, in place on `img` (N, 3, H, W). (N times the batch mean: each image climbs its own term.)
    Returns the objective's value and the activations of `img` before the step."""
    n = len(img)
    x = img.detach().requires_grad_(True)
    with torch.enable_grad():
        value, acts = evaluate(x, n)
        objective = value * n - l2_reg * ((x - 0.5) ** 2).sum()
        (g,) = torch.autograd.grad(objective, x)
    with torch.no_grad():
        norms = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        img.add_((lr * g / norms).view_as(img))
    return value.detach(), acts


@dataclass(kw_only=True)
class PixelParameterization:
    name: ClassVar[str] = "pixel"
    lr: float = 6.0  # L2 length of a step, in [0, 1] pixel units
    l2_reg: float = 1e-3  # weight of ||image - gray||^2
    jitter: int = 16  # largest random roll per step, pixels
    blur_every: int = 10  # blur every that many steps (0: never)
    blur_sigma: float = 0.5  # blur width, pixels

    def validate(self, size: int) -> None:
        _check_common(self, size)
        check_count("blur_every", self.blur_every, lo=0)
        check_number("blur_sigma", self.blur_sigma, lo=0, lo_open=True, hi=size)

    def views_per_step(self) -> int:
        return 1

    def start(self, size: int, evaluate: Evaluate, generator: torch.Generator, device: torch.device,
              batch: int = 1) -> Search:
        return _PixelSearch(self, size, evaluate, generator, device, batch)


class _PixelSearch:
    def __init__(self, p: PixelParameterization, size: int, evaluate: Evaluate, generator: torch.Generator,
                 device: torch.device, batch: int = 1) -> None:
        self.p, self.evaluate, self.gen, self.t = p, evaluate, generator, 0
        # device: cpu-ok (seeded CPU draw, moved .to(device))
        self.img = (0.5 + 0.2 * torch.randn((batch, 3, size, size), generator=generator)).clamp(0, 1).to(device)

    def step(self) -> tuple[float, Mapping[str, torch.Tensor]]:
        p = self.p
        # device: cpu-ok (host-side shift amounts)
        ox, oy = torch.randint(-p.jitter, p.jitter + 1, (2,), generator=self.gen).tolist() if p.jitter else (0, 0)
        x = jitter(self.img, ox, oy)
        value, acts = objective_ascent_step(x, self.evaluate, p.l2_reg, p.lr)
        x = jitter(x, -ox, -oy).clamp(0, 1)
        if p.blur_every and self.t % p.blur_every == p.blur_every - 1:
            x = gaussian_blur(x, p.blur_sigma)
        self.img, self.t = x, self.t + 1
        return float(value), acts

    def image(self) -> torch.Tensor:
        return self.img


@dataclass(kw_only=True)
class FourierParameterization:
    name: ClassVar[str] = "fourier"
    lr: float = 0.1  # Adam's learning rate on the spectrum
    l2_reg: float = 0.0  # weight of ||image - gray||^2
    jitter: int = 16  # largest random shift of a view, pixels
    views: int = 2  # randomly zoomed, rotated and shifted copies averaged per step
    # Measured in quality/class_viz.py (docs/visualize.md): against lucid's 1/f spectrum and +-10% zoom, +-10
    # degrees, these give saturated images with the class's parts instead of a washed-out swirl.
    decay_power: ClassVar[float] = 1.25  # spectrum scale 1/f^decay_power: less fine texture than 1/f
    zoom: ClassVar[tuple[float, float]] = (0.7, 1.3)  # random zoom range of a view
    degrees: ClassVar[float] = 20.0  # random rotation range of a view, +-

    def validate(self, size: int) -> None:
        _check_common(self, size)
        check_count("views", self.views)

    def views_per_step(self) -> int:
        return self.views

    def start(self, size: int, evaluate: Evaluate, generator: torch.Generator, device: torch.device,
              batch: int = 1) -> Search:
        return _FourierSearch(self, size, evaluate, generator, device, batch)


class _FourierSearch:
    def __init__(self, p: FourierParameterization, size: int, evaluate: Evaluate, generator: torch.Generator,
                 device: torch.device, batch: int = 1) -> None:
        self.p, self.evaluate, self.gen, self.n = p, evaluate, generator, batch
        self.fourier = FourierImage((size, size), batch, decay_power=p.decay_power, generator=generator).to(device)
        self.opt = torch.optim.Adam(self.fourier.parameters(), lr=p.lr)

    def step(self) -> tuple[float, Mapping[str, torch.Tensor]]:
        p, n = self.p, self.n
        with torch.enable_grad():
            img = self.fourier()
            # View-major: `views` blocks of the n images (what objectives.Diversity expects).
            img = img.expand(p.views, -1, -1, -1) if n == 1 else img.repeat(p.views, 1, 1, 1)
            x = random_affine(img, scale=p.zoom, degrees=p.degrees, shift=p.jitter,
                              generator=self.gen) if p.jitter or p.views > 1 else img
            value, acts = self.evaluate(x, n)
            loss = -value + p.l2_reg * ((img[:n] - 0.5) ** 2).sum()
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
        self.opt.step()
        return float(value.detach()), acts

    def image(self) -> torch.Tensor:
        with torch.no_grad():
            return self.fourier()


Parameterization = PixelParameterization | FourierParameterization
PARAMETERIZATIONS: dict[str, type[Parameterization]] = {"fourier": FourierParameterization,
                                                         "pixel": PixelParameterization}


def _check_common(p: Parameterization, size: int) -> None:
    check_number("lr", p.lr, lo=0, lo_open=True, hi=MAX_LR)
    check_number("l2_reg", p.l2_reg, lo=0, hi=MAX_WEIGHT)
    check_count("jitter", p.jitter, lo=0, hi=max(int(size), 0))


def make_parameterization(name: Any, **settings: Any) -> Parameterization:
    """The parameterization `name` with `settings` (None values take its defaults). A setting it does not
    have is an error, so nothing asked for is silently ignored."""
    if name not in PARAMETERIZATIONS:
        raise SettingError("param", f"must name an image parameterization: one of {', '.join(PARAMETERIZATIONS)}; "
                                    f"got {name!r}")
    cls = PARAMETERIZATIONS[name]
    own = {f.name for f in fields(cls)}
    given = {k: v for k, v in settings.items() if v is not None}
    for key in given:
        if key not in own:
            raise SettingError(key, f"is not a setting of the {name} parameterization (its settings: "
                                    f"{', '.join(sorted(own))})")
    return cls(**given)


def parameterization_settings(p: Parameterization) -> dict[str, Any]:
    """The settings of `p` (for config.json)."""
    return asdict(p)
