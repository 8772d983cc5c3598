"""One entry point over the saliency methods: a method name and its options -> an object whose
``explain(x, target)`` gives a (N, H, W) map per image (and, for integrated gradients, how well it converged).

The methods are plugged in by name in `METHODS`; the job (`saliency_job`), the CLI and the tour all go through
`make_explainer`, so every method's maps and numbers come out the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch

from ..jobs import Progress, check_choice
from .baselines import DEFAULT_BASELINE
from .classifier import Model
from .integrated_gradients import IntegratedGradients
from .saliency import Explanation, Saliency, SmoothGrad, Target


class Explainer(Protocol):
    def explain(self, x: torch.Tensor, target: Target) -> Explanation: ...


def _vanilla(model: Model, **_: Any) -> Explainer:
    return Saliency(model)


def _smoothgrad(model: Model, *, n_samples: int, stdev: float, internal_batch_size: int, seed: int | None,
                **_: Any) -> Explainer:
    return SmoothGrad(model, n_samples=n_samples, stdev=stdev, internal_batch_size=internal_batch_size, seed=seed)


def _ig(model: Model, *, n_steps: int, ig_method: str, tol: float, max_steps: int, internal_batch_size: int,
        baseline: str, baseline_samples: int, seed: int | None, progress: Progress | None, **_: Any) -> Explainer:
    return IntegratedGradients(model, n_steps=n_steps, method=ig_method, tol=tol, max_steps=max_steps,
                               internal_batch_size=internal_batch_size, baseline=baseline,
                               baseline_samples=baseline_samples, seed=seed, progress=progress)


def _cam(name: str) -> Callable[..., Explainer]:
    def make(model: Model, *, layer: str | None, internal_batch_size: int, **_: Any) -> Explainer:
        from .cam import CAMS

        return CAMS[name](model, layer, batch_size=internal_batch_size)
    return make


def _guided(model: Model, **_: Any) -> Explainer:
    from .guided import GuidedBackprop

    return GuidedBackprop(model)


def _guided_gradcam(model: Model, *, layer: str | None, **_: Any) -> Explainer:
    from .guided import GuidedGradCAM

    return GuidedGradCAM(model, layer)


def _occlusion(model: Model, *, window: int, stride: int, internal_batch_size: int, **_: Any) -> Explainer:
    from .occlusion import Occlusion

    return Occlusion(model, window=window, stride=stride, batch_size=internal_batch_size)


METHODS: dict[str, Callable[..., Explainer]] = {
    "vanilla": _vanilla, "smoothgrad": _smoothgrad, "ig": _ig,
    "gradcam": _cam("gradcam"), "gradcam++": _cam("gradcam++"), "scorecam": _cam("scorecam"),
    "layercam": _cam("layercam"), "guided": _guided, "guided-gradcam": _guided_gradcam, "occlusion": _occlusion}
LAYER_METHODS = ("gradcam", "gradcam++", "scorecam", "layercam", "guided-gradcam")
"""The methods that read a feature layer (`layer`; see `cam.layer_names`)."""
LABELS = {"vanilla": "|d score / d pixel|, max over RGB",
          "smoothgrad": "mean |d score / d pixel|, max over RGB",
          "ig": "|integrated gradient|, max over RGB",
          "gradcam": "Grad-CAM, scaled to [0, 1]", "gradcam++": "Grad-CAM++, scaled to [0, 1]",
          "scorecam": "Score-CAM, scaled to [0, 1]", "layercam": "Layer-CAM, scaled to [0, 1]",
          "guided": "|guided gradient|, max over RGB", "guided-gradcam": "|guided gradient x Grad-CAM|, max over RGB",
          "occlusion": "score drop under a gray patch"}
"""What each method's map measures (the colour bar's label)."""


def make_explainer(model: Model, method: str = "vanilla", *, n_samples: int = 25, stdev: float = 0.15,
                   n_steps: int = 32, ig_method: str = "adaptive", tol: float = 0.01, max_steps: int = 1024,
                   internal_batch_size: int = 25, seed: int | None = None, baseline: str = DEFAULT_BASELINE,
                   baseline_samples: int = 1, progress: Progress | None = None,
                   layer: str | None = None, window: int = 32, stride: int = 16) -> Explainer:
    """The saliency method `method` (a key of `METHODS`) with its options; options it does not use are
    ignored (so one call site serves every method). `baseline` (a name in `baselines.BASELINES`),
    `baseline_samples` and `progress` are integrated gradients' (see `IntegratedGradients`); `layer` the CAM
    methods' (None: the last spatial layer); `window` and `stride` occlusion's (pixels)."""
    check_choice("method", method, METHODS)
    return METHODS[method](model, n_samples=n_samples, stdev=stdev, n_steps=n_steps, ig_method=ig_method, tol=tol,
                           max_steps=max_steps, internal_batch_size=internal_batch_size, seed=seed,
                           baseline=baseline, baseline_samples=baseline_samples, progress=progress,
                           layer=layer, window=window, stride=stride)


def saliency_maps(model: Model, x: torch.Tensor, target: Target, method: str = "vanilla", **options: Any
                  ) -> torch.Tensor:
    """One (N, H, W) map per image for any of `METHODS` (integrated gradients reduced by `channel_max`);
    `options` as for `make_explainer`."""
    return make_explainer(model, method, **options).explain(x, target).maps
