"""Class visualization: the update step in closed form, the transforms against scipy/numpy, and real runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.ndimage
import torch

from tests.visualize.conftest import Linear
from vislab.errors import ClassNameError, ConfigError
from vislab.visualize import FourierImage, class_visualization_update_step, create_class_visualization
from vislab.visualize.augment import affine, gaussian_blur, jitter, random_affine
from vislab.visualize.fourier import COLOR_MIX, frequency_scale, mix_colors, spectrum_to_pixels


def test_update_step_is_normalized_ascent_on_score_minus_l2_in_place(linear):
    img = torch.rand(1, 3, 8, 8)
    before = img.clone()
    out = class_visualization_update_step(img, linear, 2, l2_reg=0.3, learning_rate=0.5)
    assert out is img
    g = linear.W.detach()[2][None] - 2 * 0.3 * (before - 0.5)  # d/dI [W_y . I - l2 ||I - 0.5||^2]
    torch.testing.assert_close(img, before + 0.5 * g / g.norm())


@pytest.mark.parametrize("sigma", [0.5, 1.3])
def test_gaussian_blur_matches_scipy(sigma):
    x = torch.rand(2, 3, 20, 24, dtype=torch.float64)
    ref = scipy.ndimage.gaussian_filter(x.numpy(), sigma=(0, 0, sigma, sigma), mode="mirror", truncate=4.0)
    np.testing.assert_allclose(gaussian_blur(x, sigma).numpy(), ref, atol=1e-12)
    np.testing.assert_allclose(gaussian_blur(x[0], sigma).numpy(), ref[0], atol=1e-12)


def test_jitter_is_numpy_roll_and_undoes_itself():
    x = torch.rand(1, 3, 6, 7)
    np.testing.assert_array_equal(jitter(x, 2, -3).numpy(), np.roll(x.numpy(), (-3, 2), axis=(2, 3)))
    assert torch.equal(jitter(jitter(x, 5, 4), -5, -4), x)


def test_affine_identity_and_integer_shift():
    x = torch.rand(2, 3, 16, 16, dtype=torch.float64)
    one, zero = torch.ones(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    torch.testing.assert_close(affine(x, one, zero, torch.zeros(2, 2)), x)
    shifted = affine(x, one, zero, torch.tensor([[3.0, -2.0], [0.0, 1.0]]))
    # Content moves right by dx and down by dy: away from the borders, out[y, x] = in[y - dy, x - dx].
    torch.testing.assert_close(shifted[0, :, 2:-2, 3:], x[0, :, 4:, :-3])
    torch.testing.assert_close(shifted[1, :, 1:, :], x[1, :, :-1, :])
    quarter = affine(x, one, torch.full((2,), 90.0, dtype=torch.float64), torch.zeros(2, 2))
    # A quarter turn counter-clockwise, as displayed with row 0 at the top.
    torch.testing.assert_close(quarter, torch.rot90(x, k=1, dims=(2, 3)), atol=1e-6, rtol=0)
    r = random_affine(x.float(), generator=torch.Generator().manual_seed(0))
    assert r.shape == x.shape and torch.isfinite(r).all()


def test_fourier_pixels_are_numpy_irfft2_with_the_1_over_f_scale():
    h, w = 12, 10
    scale = frequency_scale(h, w)
    assert scale[0, 0] == max(h, w) and scale[0, 1] == pytest.approx(1 / math.hypot(0, 1 / w))
    spec = torch.randn(1, 3, h, w // 2 + 1, dtype=torch.complex128)
    ref = np.fft.irfft2(spec.numpy() * scale.numpy(), s=(h, w), norm="ortho")
    np.testing.assert_allclose(spectrum_to_pixels(spec, scale.double(), (h, w)).numpy(), ref, atol=1e-12)
    # One frequency alone is one cosine wave.
    one = torch.zeros(1, 1, h, w // 2 + 1, dtype=torch.complex128)
    one[0, 0, 0, 2] = 1.0
    wave = spectrum_to_pixels(one, torch.ones(h, w // 2 + 1, dtype=torch.float64), (h, w))[0, 0]
    xs = torch.arange(w, dtype=torch.float64)
    expect = 2 / math.sqrt(h * w) * torch.cos(2 * math.pi * 2 * xs / w)
    torch.testing.assert_close(wave, expect.expand(h, w))


def test_color_mixing_and_fourier_image_range():
    x = torch.randn(2, 3, 4, 5)
    ref = np.einsum("cj,njhw->nchw", COLOR_MIX.numpy(), x.numpy())
    np.testing.assert_allclose(mix_colors(x).numpy(), ref, rtol=1e-5, atol=1e-6)
    assert COLOR_MIX.norm(dim=0).max() == pytest.approx(1.0)
    with torch.no_grad():
        img = FourierImage((20, 16), batch=2, generator=torch.Generator().manual_seed(0))()
    assert img.shape == (2, 3, 20, 16) and img.min() > 0 and img.max() < 1
    assert abs(float(img.mean()) - 0.5) < 0.05  # starts near gray


# The pixel loop needs more steps than the Fourier one to lift the target out of noise reliably.
@pytest.mark.parametrize("param, steps", [("fourier", 16), ("pixel", 48)])
def test_short_runs_raise_the_target_probability(bb, param, steps):
    """A run's trajectory is chaotic: another CPU or thread count is, in effect, another seed. So each run is
    judged relative to its own start (the target's probability rises >= 50x and the target becomes the top
    class) and the verdict is the majority of three seeds. Measured at 1 and 2 threads: fourier (16 steps,
    seeds 0-19, the issue-14 defaults) rose 373-965x, top class in 40/40 runs; pixel (48 steps, seeds 0-29)
    rose 141-145000x, top class in 59/60 runs (once 3rd). (The old single-seed pixel run of 16 steps ended
    anywhere from p = 0 to 1.)"""
    target = bb.class_index("goldfish")
    views = {"views": 2} if param == "fourier" else {}  # only the Fourier parameterization averages views
    outcomes = []
    for seed in (0, 1, 2):
        probs: list[float] = []
        res = create_class_visualization(target, bb, param=param, size=96, steps=steps, seed=seed, log_every=1,
                                         on_step=lambda step, logit, p, probs=probs: probs.append(p), **views)
        assert res.image.shape == (3, 96, 96) and res.image.min() >= 0 and res.image.max() <= 1
        assert torch.equal(res.image, torch.round(res.image * 255) / 255)
        with torch.no_grad():
            scores = bb(res.image[None])[0]
        assert float(scores.softmax(0)[target]) == pytest.approx(res.prob, abs=1e-6)  # describes the image
        assert len(probs) == steps
        outcomes.append((seed, probs[0], res.prob, int(scores.argmax())))
    assert sum(p >= 50 * p0 and top == target for _, p0, p, top in outcomes) >= 2, outcomes


def test_class_viz_is_seeded():
    linear = Linear(size=32)  # the smallest dream size
    a = create_class_visualization(1, linear, param="pixel", size=32, steps=3, seed=5, jitter_px=2)
    b = create_class_visualization(1, linear, param="pixel", size=32, steps=3, seed=5, jitter_px=2)
    assert torch.equal(a.image, b.image)
    c = create_class_visualization(1, linear, param="pixel", size=32, steps=3, seed=6, jitter_px=2)
    assert not torch.equal(a.image, c.image)  # the seed is what made a and b agree


def test_class_viz_bad_settings():
    linear = Linear(size=32)
    with pytest.raises(ClassNameError, match="out of range"):
        create_class_visualization(7, linear, size=32, steps=1)
    with pytest.raises(ConfigError, match="parameterization"):
        create_class_visualization(1, linear, param="wavelet", size=32)
    with pytest.raises(ConfigError, match="lr"):
        create_class_visualization(1, linear, size=32, lr=-1)
