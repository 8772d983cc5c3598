"""NetworkVisualization-PyTorch adapters against autograd and closed forms on a tiny model (normalized input,
as the course). The notebook's own checks are visual (SqueezeNet on ImageNet images), so none are transcribed.
"""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from vislab.cs231n.net_visualization_pytorch import (
    blur_image,
    class_visualization_update_step,
    compute_saliency_maps,
    jitter,
    make_fooling_image,
    preprocess,
    rescale,
)


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                      nn.Linear(16, 5)).eval()
    for p in m.parameters():
        p.requires_grad_(False)  # as the notebook does for SqueezeNet
    return m


def test_saliency_is_max_abs_gradient_over_channels(model):
    X = torch.randn(3, 3, 8, 8)
    y = torch.tensor([0, 3, 4])
    Xg = X.clone().requires_grad_(True)
    model(Xg).gather(1, y.view(-1, 1)).sum().backward()
    want = Xg.grad.abs().max(dim=1)[0]
    got = compute_saliency_maps(X, y, model)
    assert got.shape == (3, 8, 8)
    assert torch.allclose(got, want, atol=1e-7)


def test_fooling_image_is_classified_as_target(model):
    X = torch.randn(1, 3, 8, 8)
    before = model(X).argmax(1).item()
    target = (before + 1) % 5
    Xf = make_fooling_image(X, target, model)
    assert Xf.shape == X.shape
    assert model(Xf).argmax(1).item() == target
    assert not torch.equal(Xf, X)


def test_fooling_first_step_is_the_normalized_gradient(model):
    X = torch.randn(1, 3, 8, 8)
    target = (model(X).argmax(1).item() + 1) % 5
    Xg = X.clone().requires_grad_(True)
    model(Xg)[0, target].backward()
    g = Xg.grad
    one_step = X + g / g.norm()
    # a model that is fooled exactly when its input has moved: the loop then takes a single step
    class Stop(nn.Module):
        def forward(self, x):
            s = model(x)
            if not torch.allclose(x, X):
                s = s + 1e6 * nn.functional.one_hot(torch.tensor([target]), 5)
            return s
    assert torch.allclose(make_fooling_image(X, target, Stop()), one_step, atol=1e-6)


def test_fooling_of_an_already_fooled_image_changes_nothing(model):
    X = torch.randn(1, 3, 8, 8)
    assert torch.equal(make_fooling_image(X, model(X).argmax(1).item(), model), X)


def test_class_visualization_update_step_matches_the_formula(model):
    img = torch.randn(1, 3, 8, 8)
    l2_reg, lr, target = 1e-2, 5.0, 2
    x = img.clone().requires_grad_(True)
    (model(x)[0, target] - l2_reg * x.norm() ** 2).backward()
    want = img + lr * x.grad / x.grad.norm()
    before = img.clone()
    assert class_visualization_update_step(img, model, target, l2_reg, lr) is None
    assert torch.allclose(img, want, atol=1e-5)
    assert torch.allclose((img - before).norm(), torch.tensor(lr), atol=1e-4)


def test_jitter_is_a_roll():
    X = torch.arange(2 * 3 * 5 * 7, dtype=torch.float32).view(2, 3, 5, 7)
    for ox, oy in [(0, 0), (2, 0), (0, 3), (3, 1), (6, 4)]:
        want = torch.roll(torch.roll(X, ox, dims=3), oy, dims=2)
        # the course's slice concatenation
        Z = X
        if ox:
            Z = torch.cat([Z[:, :, :, -ox:], Z[:, :, :, :-ox]], dim=3)
        if oy:
            Z = torch.cat([Z[:, :, -oy:], Z[:, :, :-oy]], dim=2)
        assert torch.equal(jitter(X, ox, oy), want) and torch.equal(Z, want)


def _gaussian_blur_reference(x: np.ndarray, sigma: float, axis: int) -> np.ndarray:
    """By hand: weights exp(-k^2 / 2 sigma^2), k = -r..r with r = int(4 sigma + 0.5), normalized; borders padded
    by mirroring with the edge pixel repeated (numpy 'symmetric', scipy's default 'reflect')."""
    r = int(4 * sigma + 0.5)
    k = np.arange(-r, r + 1)
    w = np.exp(-k ** 2 / (2 * sigma ** 2))
    w /= w.sum()
    pad = [(0, 0)] * x.ndim
    pad[axis] = (r, r)
    xp = np.pad(x.astype(np.float64), pad, mode="symmetric")
    n = x.shape[axis]
    return sum(wi * np.take(xp, np.arange(i, i + n), axis=axis) for i, wi in enumerate(w))


@pytest.mark.parametrize("sigma", [0.5, 1.0])
def test_blur_image_is_the_courses_scipy_gaussian_filter_borders_included(sigma):
    X = torch.randn(2, 3, 20, 24, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    want = _gaussian_blur_reference(_gaussian_blur_reference(X.numpy(), sigma, 2), sigma, 3)
    out = blur_image(X, sigma)
    assert out is X and X.dtype == torch.float64  # in place, as the course
    assert np.allclose(X.numpy(), want, atol=1e-6, rtol=0)  # the course writes back through float32
    assert np.abs(X.numpy() - want).max() > 0  # ... so not exactly float64
    X32 = torch.randn(1, 3, 9, 7, generator=torch.Generator().manual_seed(1))
    want32 = _gaussian_blur_reference(_gaussian_blur_reference(X32.numpy(), sigma, 2), sigma, 3)
    assert np.allclose(blur_image(X32, sigma).numpy(), want32, atol=1e-6, rtol=0)


def test_preprocess_defaults_to_the_courses_224():
    img = Image.fromarray(np.zeros((300, 400, 3), np.uint8))
    assert preprocess(img).shape == (1, 3, 224, 298)  # shorter side 224, longer int(224 * 400 / 300)
    assert preprocess(img, size=100).shape == (1, 3, 100, 133)


def test_rescale_is_min_max():
    x = torch.tensor([[-2.0, 0.0], [1.0, 6.0]])
    assert torch.equal(rescale(x), torch.tensor([[0.0, 0.25], [0.375, 1.0]]))


NAMES = {
    "vislab.cs231n.net_visualization_pytorch": ["compute_saliency_maps", "make_fooling_image",
                                                "class_visualization_update_step", "jitter", "blur_image",
                                                "preprocess", "deprocess", "rescale"],
    "vislab.cs231n.style_transfer_pytorch": ["content_loss", "gram_matrix", "style_loss", "tv_loss",
                                             "extract_features", "features_from_img", "style_transfer",
                                             "preprocess", "deprocess", "rescale", "rel_error"],
    "vislab.cs231n.image_utils": ["preprocess", "deprocess", "load_image", "preprocess_image", "deprocess_image",
                                  "image_from_url", "blur_image", "rescale"],
}


@pytest.mark.parametrize("module", sorted(NAMES))
def test_names_import_and_star_import(module):
    import importlib

    mod = importlib.import_module(module)
    ns: dict = {}
    exec(f"from {module} import *", ns)  # what a notebook does
    for name in NAMES[module]:
        assert callable(getattr(mod, name)) and name in ns, name
    if module == "vislab.cs231n.image_utils":
        for name in ("SQUEEZENET_MEAN", "SQUEEZENET_STD"):
            assert ns[name].dtype == np.float32 and ns[name].shape == (3,)
