"""Network visualization: what a classifier looks at (saliency), how easily it is fooled (fooling images), and
what it "thinks" a class looks like (class visualization).

Every method takes "a model": a `vislab.backbones.Backbone` (images in [0, 1], normalization inside) or a
plain ``nn.Module`` mapping images to logits. Images are float tensors in [0, 1], shape (N, 3, H, W).

The jobs (settings, ``run``, result; see `vislab.jobs`) are `saliency_job`, `fool_job` and `dream_job`, with
their settings in `vislab.visualize.settings`.
"""

from .class_viz import ClassVisualization, class_visualization_update_step, create_class_visualization
from .fooling import FoolingResult, make_fooling_image
from .fourier import FourierImage
from .integrated_gradients import IntegratedGradients
from .maps import make_explainer, saliency_maps
from .parameterizations import FourierParameterization, PixelParameterization
from .saliency import Saliency, SmoothGrad, compute_saliency_maps
from .settings import DreamSettings, FoolSettings, SaliencySettings

__all__ = [
    "Saliency", "SmoothGrad", "IntegratedGradients", "compute_saliency_maps", "saliency_maps", "make_explainer",
    "make_fooling_image", "FoolingResult",
    "class_visualization_update_step", "create_class_visualization", "ClassVisualization", "FourierImage",
    "FourierParameterization", "PixelParameterization",
    "SaliencySettings", "FoolSettings", "DreamSettings",
]
