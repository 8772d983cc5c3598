"""The CAM family, guided backpropagation and occlusion against pytorch-grad-cam 1.5.7 and captum.

pytorch-grad-cam imports torchvision at import time (image utilities and detection targets that these tests do not
use), and torchvision does not import beside this torch build; `_grad_cam` puts a stub module in sys.modules for
the import only when the real one is missing. The reference then runs on the same model, images, layer and targets.
"""

from __future__ import annotations

import importlib
import sys
import types

import captum.attr as ca
import numpy as np
import pytest
import torch
from torch import nn

from vislab.images import resize
from vislab.visualize.cam import CAMS, GradCAM, default_layer, layer_names, staged_forward
from vislab.visualize.guided import GuidedBackprop, GuidedGradCAM
from vislab.visualize.occlusion import Occlusion


def _grad_cam():
    """`pytorch_grad_cam`, imported with a stub `torchvision` when the real one is absent (see the docstring)."""
    pytest.importorskip("cv2")
    pytest.importorskip("ttach")
    if importlib.util.find_spec("pytorch_grad_cam") is None:
        pytest.skip("grad-cam is not installed (requirements-refs.txt)")
    if "torchvision" not in sys.modules:
        stub = types.ModuleType("torchvision")
        stub.transforms = types.ModuleType("torchvision.transforms")
        stub.transforms.functional = types.ModuleType("torchvision.transforms.functional")
        for name in ("Compose", "Normalize", "ToTensor"):
            setattr(stub.transforms, name, None)
        stub.transforms.functional.resize = None
        saved = dict.fromkeys(["torchvision", "torchvision.transforms", "torchvision.transforms.functional"])
        sys.modules.update({"torchvision": stub, "torchvision.transforms": stub.transforms,
                            "torchvision.transforms.functional": stub.transforms.functional})
        try:
            return importlib.import_module("pytorch_grad_cam")
        finally:
            for name in saved:
                sys.modules.pop(name, None)
    return importlib.import_module("pytorch_grad_cam")


class ReluNet(nn.Module):
    """A small conv net whose ReLUs are nn.ReLU modules (what captum's and grad-cam's guided backprop hook)."""

    def __init__(self, classes: int = 5, seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.features = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(),
                                          nn.Conv2d(6, 8, 3, stride=2, padding=1), nn.ReLU(),
                                          nn.Conv2d(8, 8, 3, padding=1))
            self.relu, self.fc = nn.ReLU(), nn.Linear(8, classes)
            with torch.no_grad():  # larger than the default init, so that scores depend clearly on the pixels
                for p in self.parameters():
                    p.copy_(torch.randn(p.shape) * 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.relu(self.features(x)).mean(dim=(2, 3)))


@pytest.fixture
def net() -> ReluNet:
    return ReluNet()


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(2, 3, 20, 20, generator=torch.Generator().manual_seed(1))


TARGETS = [1, 3]
GRAD_CAM_NAMES = {"gradcam": "GradCAM", "gradcam++": "GradCAMPlusPlus", "scorecam": "ScoreCAM",
                  "layercam": "LayerCAM"}


def _close(ours: torch.Tensor, ref, *, rel: float = 1e-5) -> None:
    ref = torch.as_tensor(np.asarray(ref.detach() if isinstance(ref, torch.Tensor) else ref), dtype=ours.dtype)
    assert float((ref != 0).float().mean()) > 0.1  # a real map, not zeros
    torch.testing.assert_close(ours.detach(), ref, atol=rel * float(ref.abs().max()), rtol=0)


@pytest.mark.parametrize("method", list(GRAD_CAM_NAMES))
def test_cam_equals_pytorch_grad_cam(net, images, method):
    gc = _grad_cam()
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    layer = net.features[3]  # a ReLU's output, as after a network's last conv block: activations >= 0
    ref = getattr(gc, GRAD_CAM_NAMES[method])(net, [layer])
    targets = [ClassifierOutputTarget(t) for t in TARGETS]
    full = ref(input_tensor=images, targets=targets)
    acts = ref.activations_and_grads.activations[0].numpy()
    grads = ref.activations_and_grads.gradients[0].numpy() if ref.activations_and_grads.gradients else None
    raw = np.maximum(ref.get_cam_image(images, layer, targets, acts, grads, False), 0)
    ours = CAMS[method](net, "features.3")
    _close(ours.raw(images, TARGETS), raw)  # the map at the layer's resolution, ReLU applied
    _close(ours.attribute(images, TARGETS), full)  # upsampled and scaled to [0, 1]
    ref.activations_and_grads.release()


def test_gradcam_equals_captum_on_the_real_backbone_and_a_user_model(bb, photos):
    x = resize(photos, 96)  # a smaller view keeps the test quick; the network is the real one
    assert default_layer(bb, x) == "head"
    ref = ca.LayerGradCam(staged_forward(bb), dict(bb.stages)["head"]).attribute(
        x, target=[281, 504], relu_attributions=True)[:, 0]
    _close(GradCAM(bb).raw(x, [281, 504]), ref)
    mid = ca.LayerGradCam(bb, bb.model._blocks[10]).attribute(x, target=281, relu_attributions=True)[:, 0]
    _close(GradCAM(bb, "block10").raw(x, 281), mid)  # a stage that the network's own forward runs: plain captum


def test_cams_on_a_module_factory_model():
    from vislab import backbones

    bb = backbones.load("tests.visualize.tiny_classifier:build")
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    assert layer_names(bb) == bb.layer_names and default_layer(bb, x) == "conv"
    ref = ca.LayerGradCam(bb, bb.model.conv).attribute(x, target=7, relu_attributions=True)[:, 0]
    _close(GradCAM(bb).raw(x, 7), ref)
    for name, cls in CAMS.items():
        heat = cls(bb, batch_size=4).attribute(x, 7)
        assert heat.shape == (1, 64, 64) and float(heat.min()) >= 0 and float(heat.max()) <= 1, name


def test_guided_backprop_equals_captum_and_grad_cam(net, images):
    ours = GuidedBackprop(net).attribute(images, TARGETS)
    _close(ours, ca.GuidedBackprop(net).attribute(images, target=TARGETS))
    plain = torch.autograd.functional.jacobian(lambda z: net(z)[0, 1], images[:1])
    assert not torch.allclose(ours[:1], plain, atol=1e-4)  # the guidance changes the gradient here
    gc = _grad_cam()
    ref = gc.GuidedBackpropReLUModel(net, device="cpu")(images[1:].clone(), target_category=3)
    _close(ours[1].permute(1, 2, 0), ref)


def test_guided_gradcam_equals_captum(net, images):
    ref = ca.GuidedGradCam(net, net.features[4]).attribute(images, target=TARGETS, interpolate_mode="bilinear")
    _close(GuidedGradCAM(net, "features.4").attribute(images, TARGETS), ref)


def test_guided_backprop_catches_functional_relus(bb, photos):
    x = resize(photos[:1], 64)
    guided = GuidedBackprop(bb).attribute(x, 281)
    plain = ca.Saliency(bb).attribute(x, target=281, abs=False)  # captum's GuidedBackprop would equal this
    assert not torch.allclose(guided, plain, atol=1e-6)


@pytest.mark.parametrize(("window", "stride"), [(6, 4), (5, 5), (20, 3)])
def test_occlusion_equals_captum(net, images, window, stride):
    ours = Occlusion(net, window=window, stride=stride, batch_size=7).attribute(images, TARGETS)
    ref = ca.Occlusion(net).attribute(images, target=TARGETS, sliding_window_shapes=(3, window, window),
                                      strides=(3, stride, stride), baselines=0.5)
    assert torch.allclose(ref[:, 0], ref[:, 2])  # captum's windows span the channels: one map per image
    _close(ours, ref[:, 0])


def test_guided_backprop_treats_relu6_modules_like_relus():
    torch.manual_seed(3)
    body = [nn.Conv2d(3, 4, 3), None, nn.Flatten(), nn.Linear(4 * 6 * 6, 3)]
    with_relu = nn.Sequential(*[m if m is not None else nn.ReLU() for m in body])
    with_relu6 = nn.Sequential(*[m if m is not None else nn.ReLU6() for m in body])
    x = torch.rand(2, 3, 8, 8) * 0.3  # small activations: ReLU6 never saturates, so both nets are the same function
    torch.testing.assert_close(GuidedBackprop(with_relu6).attribute(x, 1),
                               ca.GuidedBackprop(with_relu).attribute(x, target=1))
