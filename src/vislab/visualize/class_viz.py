"""Class visualization: synthesize an image the network scores highly for one class (Simonyan et al., 2014;
Yosinski et al., 2015; Olah et al., 2017).

What the optimizer changes is an image parameterization (`vislab.visualize.parameterizations`): raw pixels
with the classic jitter / blur / L2 loop, or a decorrelated Fourier image with Adam over random views. Each
brings its own defaults; `create_visualization` runs either with the same loop, up any objective
(`vislab.visualize.objectives`: a channel, a neuron, a layer, their sums); `create_class_visualization` is it
with the class score.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch

from .classifier import Model, as_batch, as_targets, check_targets, model_device, scores_fn
from .fooling import quantize
from .objectives import LOGITS, Objective, capture, check_layers, class_logit, evaluator
from .parameterizations import PARAMETERIZATIONS, Parameterization, ascent_step, make_parameterization
from .progress import ProgressArg, as_progress
from .settings import DreamSettings, check_dream

OnStep = Callable[[int, float, float], None]
Numbers = Callable[[float, Mapping[str, torch.Tensor]], dict[str, float]]
PREVIEW_EVERY = 10
"""Steps between the pictures passed to `progress` (``preview=``), for pages that show the image forming."""


def class_visualization_update_step(img: torch.Tensor, model: Model, target_y: int | torch.Tensor,
                                    l2_reg: float, learning_rate: float) -> torch.Tensor:
    """One gradient-ascent step on s_y(I) - l2_reg * ||I - 0.5||^2, in place on `img` (N, 3, H, W) in [0, 1].

    The step is ``learning_rate * g / ||g||_2`` per image, so `learning_rate` is the step's L2 length in
    pixels. Returns `img`.
    """
    x = as_batch(img, "class visualization image")
    ascent_step(x, scores_fn(model), as_targets(target_y, len(x), x.device), l2_reg, learning_rate)
    return img


@dataclass
class ClassVisualization:
    image: torch.Tensor  # (3, H, W) in [0, 1], on the 8-bit grid (what a saved PNG holds)
    target: int
    prob: float  # softmax probability of the target for `image` as it is
    steps: int  # steps taken
    stopped: bool = False  # `should_stop` ended the optimization before `steps`


def as_parameterization(param: str | Parameterization, **settings: Any) -> Parameterization:
    """A parameterization by name (its defaults, then `settings`) or a given one with `settings` changed."""
    if "jitter_px" in settings:  # the name this setting had before parameterizations were objects
        settings["jitter"] = settings.pop("jitter_px")
    settings = {k: v for k, v in settings.items() if v is not None}
    if isinstance(param, tuple(PARAMETERIZATIONS.values())):
        return make_parameterization(param.name, **{**asdict(param), **settings}) if settings else param
    return make_parameterization(param, **settings)


@dataclass
class Visualization:
    images: torch.Tensor  # (N, 3, H, W) in [0, 1], on the 8-bit grid (what saved PNGs hold)
    value: float  # the objective at `images` as they are (no transforms)
    steps: int  # steps taken
    stopped: bool = False  # `should_stop` ended the optimization before `steps`


def objective_numbers(value: float, acts: Mapping[str, torch.Tensor]) -> dict[str, float]:
    return {"objective": value}


def create_visualization(objective: Objective, model: Model, param: str | Parameterization = DreamSettings.param,
                         *, size: int = DreamSettings.size, steps: int = DreamSettings.steps,
                         seed: int = DreamSettings.seed, batch: int = 1, log_every: int = 10,
                         on_step: Callable[[int, dict[str, float]], None] | None = None,
                         numbers: Numbers = objective_numbers, progress: ProgressArg = None,
                         should_stop: Callable[[], bool] | None = None, preview_every: int = PREVIEW_EVERY,
                         **settings: Any) -> Visualization:
    """Grow `batch` images of `size` x `size` that maximize `objective`.

    `param` and `settings` as in `create_class_visualization`. `numbers(value, activations)` says what is
    reported for a step (default: ``objective=``); `on_step(step, numbers)` is called every `log_every` steps
    and after the last, `progress(step, steps, **numbers, preview=...)` as in `create_class_visualization`
    (the preview is the first image).
    """
    p = as_parameterization(param, **settings)
    check_dream(p, size, steps, seed)
    check_layers(model, objective.layers)
    device = model_device(model)
    search = p.start(size, evaluator(objective, model), torch.Generator().manual_seed(seed), device, batch)
    done = 0
    with as_progress(progress, f"dream ({p.name})") as report:
        for t in range(steps):
            if should_stop is not None and should_stop():
                break
            value, acts = search.step()
            row = numbers(value, acts)
            done = t + 1
            if on_step is not None and (t % log_every == 0 or done == steps):
                on_step(t, row)
            if preview_every and (done % preview_every == 0 or done == steps):
                with torch.no_grad():
                    report(done, steps, **row, preview=search.image()[0].detach().clamp(0, 1).cpu())
            else:
                report(done, steps, **row)
    with torch.no_grad():
        imgs = quantize(search.image())  # report the images as they will be saved (8-bit)
        value = float(objective(capture(model, imgs, objective.layers), len(imgs)))
    return Visualization(imgs.detach(), value, done, stopped=done < steps)


def create_class_visualization(target_y: int, model: Model, param: str | Parameterization = DreamSettings.param,
                               *, size: int = DreamSettings.size, steps: int = DreamSettings.steps,
                               seed: int = DreamSettings.seed, log_every: int = 10, on_step: OnStep | None = None,
                               progress: ProgressArg = None, should_stop: Callable[[], bool] | None = None,
                               preview_every: int = PREVIEW_EVERY, **settings: Any) -> ClassVisualization:
    """Synthesize a `size` x `size` image of class `target_y`.

    `param` is a parameterization object or its name (``"fourier"``, ``"pixel"``); `settings` (``lr=``,
    ``views=``, ...) override its defaults. `on_step(step, target_logit, target_prob)` is called every
    `log_every` steps and after the last (numbers of the image that step scored, before its update);
    `progress(step, steps, target_prob=p)` after every step (True: a bar on stderr), every `preview_every` steps
    and after the last with ``preview=`` the current (3, size, size) image on the CPU (0: never);
    `should_stop()` before each step ends the optimization early.
    """
    p = as_parameterization(param, **settings)
    check_dream(p, size, steps, seed)
    device, forward = model_device(model), scores_fn(model)
    target = as_targets(target_y, 1, device)
    with torch.no_grad():
        check_targets(forward(torch.full((1, 3, size, size), 0.5, device=device)), target)
    c = int(target[0])

    def class_numbers(value: float, acts: Mapping[str, torch.Tensor]) -> dict[str, float]:
        # Mean over the views: the logit is the objective's value.
        return {"target_logit": value, "target_prob": float(acts[LOGITS].detach().softmax(dim=1)[:, c].mean())}

    step_cb = None if on_step is None else (lambda t, row: on_step(t, row["target_logit"], row["target_prob"]))
    viz = create_visualization(class_logit(c), model, p, size=size, steps=steps, seed=seed, log_every=log_every,
                               on_step=step_cb, numbers=class_numbers, progress=progress, should_stop=should_stop,
                               preview_every=preview_every)
    with torch.no_grad():
        prob = float(forward(viz.images).softmax(dim=1)[0, c])
    return ClassVisualization(viz.images[0], c, prob, viz.steps, stopped=viz.stopped)
