"""Class visualization: synthesize an image the network scores highly for one class (Simonyan et al., 2014;
Yosinski et al., 2015; Olah et al., 2017).

Two parameterizations:

- ``"pixel"``: the classic loop. Start from noise; each step roll the image by a random jitter, take one
  L2-normalized gradient-ascent step on s_y(I) - l2_reg * ||I - 0.5||^2, roll back, clamp to [0, 1], and
  blur now and then. (The image is measured from mid-gray, the [0, 1]-pixel version of cs231n's
  mean-subtracted image.)
- ``"fourier"``: the image is a `FourierImage` (a decorrelated, 1/f-scaled spectrum through a sigmoid),
  optimized with Adam on the target's score averaged over randomly zoomed, rotated and shifted views. Slower
  per step, but the images look like things rather than textures of edges, and they stay classified when
  moved or rescaled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from ..errors import ConfigError
from .augment import gaussian_blur, jitter, random_affine
from .classifier import Model, as_batch, as_targets, check_targets, model_device, scores_fn, target_scores
from .fooling import quantize
from .fourier import FourierImage

PARAMS = ("fourier", "pixel")


def class_visualization_update_step(img: torch.Tensor, model: Model, target_y: int | torch.Tensor,
                                    l2_reg: float, learning_rate: float) -> torch.Tensor:
    """One gradient-ascent step on s_y(I) - l2_reg * ||I - 0.5||^2, in place on `img` (N, 3, H, W) in [0, 1].

    The step is ``learning_rate * g / ||g||_2`` per image, so `learning_rate` is the step's L2 length in
    pixels. Returns `img`.
    """
    x = as_batch(img, "class visualization image").detach().requires_grad_(True)
    targets = as_targets(target_y, len(x), x.device)
    with torch.enable_grad():
        objective = target_scores(scores_fn(model)(x), targets).sum() - l2_reg * ((x - 0.5) ** 2).sum()
        (g,) = torch.autograd.grad(objective, x)
    with torch.no_grad():
        norms = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        img.add_((learning_rate * g / norms).view_as(img))
    return img


@dataclass
class ClassVisualization:
    image: torch.Tensor  # (3, H, W) in [0, 1], on the 8-bit grid (what a saved PNG holds)
    target: int
    prob: float  # softmax probability of the target for `image` as it is
    steps: int


DEFAULTS = {
    "fourier": {"steps": 200, "lr": 0.05, "l2_reg": 0.0, "blur_every": 0, "jitter": 16, "views": 2},
    "pixel": {"steps": 200, "lr": 6.0, "l2_reg": 1e-3, "blur_every": 10, "jitter": 16, "views": 1},
}


def create_class_visualization(
    target_y: int, model: Model, *, param: str = "fourier", size: int = 224, steps: int | None = None,
    lr: float | None = None, l2_reg: float | None = None, blur_every: int | None = None,
    blur_sigma: float = 0.5, jitter_px: int | None = None, views: int | None = None, seed: int = 0,
    progress: bool = False, log_every: int = 10, on_step: Callable[[int, float, float], None] | None = None,
) -> ClassVisualization:
    """Synthesize a `size` x `size` image of class `target_y`. Unset settings take `DEFAULTS[param]`.

    `lr` is the L2 step length in pixels for ``"pixel"`` and Adam's learning rate for ``"fourier"``; `views`
    is how many randomly transformed copies each Fourier step averages over. `on_step(step, target_logit,
    target_prob)` is called every `log_every` steps and after the last (with the numbers of that step's input,
    before its update). Blurring (`blur_every`, `blur_sigma`) applies to ``"pixel"`` only: the Fourier
    parameterization's 1/f scaling already favours smooth images.
    """
    if param not in PARAMS:
        raise ConfigError(f"unknown parameterization {param!r}: choose {', '.join(PARAMS)}")
    d = DEFAULTS[param]
    steps = d["steps"] if steps is None else steps
    lr = d["lr"] if lr is None else lr
    l2_reg = d["l2_reg"] if l2_reg is None else l2_reg
    blur_every = d["blur_every"] if blur_every is None else blur_every
    jitter_px = d["jitter"] if jitter_px is None else jitter_px
    views = d["views"] if views is None else views
    if steps < 0 or lr <= 0 or l2_reg < 0 or size < 8 or views < 1 or jitter_px < 0 or blur_every < 0:
        raise ConfigError("class visualization needs steps >= 0, lr > 0, l2_reg >= 0, size >= 8, views >= 1, "
                          f"jitter >= 0, blur_every >= 0; got steps={steps}, lr={lr}, l2_reg={l2_reg}, "
                          f"size={size}, views={views}, jitter={jitter_px}, blur_every={blur_every}")
    device = model_device(model)
    forward = scores_fn(model)
    gen = torch.Generator().manual_seed(seed)
    target = as_targets(target_y, 1, device)
    with torch.no_grad():
        check_targets(forward(torch.full((1, 3, size, size), 0.5, device=device)), target)
    bar = tqdm(range(steps), desc=f"dream ({param})", unit="step", disable=not progress, leave=False)
    if param == "pixel":
        img = (0.5 + 0.2 * torch.randn((1, 3, size, size), generator=gen)).clamp(0, 1).to(device)
        for t in bar:
            ox, oy = (torch.randint(-jitter_px, jitter_px + 1, (2,), generator=gen).tolist() if jitter_px
                      else (0, 0))
            img = jitter(img, ox, oy)
            if on_step is not None and (t % log_every == 0 or t == steps - 1):
                _report(on_step, t, forward, img, target)
            class_visualization_update_step(img, model, target, l2_reg, lr)
            img = jitter(img, -ox, -oy).clamp(0, 1)
            if blur_every and t % blur_every == blur_every - 1:
                img = gaussian_blur(img, blur_sigma)
    else:
        fourier = FourierImage((size, size), generator=gen).to(device)
        opt = torch.optim.Adam(fourier.parameters(), lr=lr)
        for t in bar:
            with torch.enable_grad():
                img = fourier().expand(views, -1, -1, -1)
                x = random_affine(img, shift=jitter_px, generator=gen) if jitter_px or views > 1 else img
                scores = forward(x)
                s = target_scores(scores, target.expand(views)).mean()
                loss = -s + l2_reg * ((img[:1] - 0.5) ** 2).sum()
                opt.zero_grad(set_to_none=True)
                loss.backward()
            if on_step is not None and (t % log_every == 0 or t == steps - 1):
                with torch.no_grad():
                    p = scores.softmax(dim=1)[:, target[0]].mean()
                on_step(t, float(s.detach()), float(p))
            opt.step()
        with torch.no_grad():
            img = fourier()
    bar.close()
    with torch.no_grad():
        img = quantize(img)  # report the image as it will be saved (8-bit)
        prob = float(forward(img).softmax(dim=1)[0, target[0]])
    return ClassVisualization(img[0].detach(), int(target[0]), prob, steps)


def _report(on_step: Callable[[int, float, float], None], t: int, forward, img: torch.Tensor,
            target: torch.Tensor) -> None:
    with torch.no_grad():
        s = forward(img)
    on_step(t, float(s[0, target[0]]), float(s.softmax(dim=1)[0, target[0]]))
