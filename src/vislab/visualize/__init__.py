"""Network visualization: what a classifier looks at (saliency), how easily it is fooled (fooling images), and
what it "thinks" a class looks like (class visualization).

Every method takes "a model": a `vislab.backbones.Backbone` (images in [0, 1], normalization inside) or a
plain ``nn.Module`` mapping images to logits. Images are float tensors in [0, 1], shape (N, 3, H, W).
"""

from .class_viz import ClassVisualization, class_visualization_update_step, create_class_visualization
from .fooling import FoolingResult, make_fooling_image
from .fourier import FourierImage
from .integrated_gradients import IntegratedGradients
from .maps import saliency_maps
from .saliency import Saliency, SmoothGrad, compute_saliency_maps

__all__ = [
    "Saliency", "SmoothGrad", "IntegratedGradients", "compute_saliency_maps", "saliency_maps",
    "make_fooling_image", "FoolingResult",
    "class_visualization_update_step", "create_class_visualization", "ClassVisualization", "FourierImage",
]
