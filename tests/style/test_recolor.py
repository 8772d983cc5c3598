"""init="recolored": the content photo with the style's colour distribution (mean and covariance of RGB)."""

from __future__ import annotations

import torch

from vislab.style import colors
from vislab.style.transfer import Settings, style_transfer


def test_match_colors_gives_the_reference_mean_and_covariance():
    g = torch.Generator().manual_seed(0)
    mix = torch.tensor([[1.0, 0.3, 0.0], [0.2, 1.0, 0.1], [0.0, 0.4, 1.0]])
    image = 0.5 + 0.05 * torch.einsum("ij,jhw->ihw", mix, torch.randn(3, 30, 40, generator=g))
    reference = torch.stack([0.3 + 0.08 * torch.randn(20, 20, generator=g),
                             0.6 + 0.03 * torch.randn(20, 20, generator=g),
                             0.4 + 0.05 * torch.randn(20, 20, generator=g)])
    reference[2] += 0.5 * (reference[0] - 0.3)  # correlated channels
    out = colors.match_colors(image, reference)
    assert 0 < float(out.min()) and float(out.max()) < 1  # nothing clamped, so the moments are exact
    o, r = out.reshape(3, -1).double(), reference.reshape(3, -1).double()
    torch.testing.assert_close(o.mean(1), r.mean(1), atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.cov(o), torch.cov(r), atol=2e-5, rtol=1e-3)
    # the map is linear and the same for every pixel: pixels that were equal stay equal
    image[:, 0, 0] = image[:, 5, 7]
    out = colors.match_colors(image, reference)
    torch.testing.assert_close(out[:, 0, 0], out[:, 5, 7])


def test_a_recolored_start_takes_the_style_palette(effnet, small_images):
    content, style, _ = (t[0] for t in small_images)
    seen = []
    s = Settings(image_size=64, iterations=1, scales=1, init="recolored", tv_weight=0)
    style_transfer(effnet, content, [style], s, on_step=lambda step: seen.append(step.image.clone()))
    plain = []
    s = Settings(image_size=64, iterations=1, scales=1, tv_weight=0, init="content")
    style_transfer(effnet, content, [style], s, on_step=lambda step: plain.append(step.image.clone()))
    # after one small L-BFGS step the picture is still essentially its start: compare palettes
    mean = lambda img: img.reshape(3, -1).mean(1)  # noqa: E731
    assert (mean(seen[0][0]) - mean(style)).abs().max() < 0.03
    assert (mean(plain[0][0]) - mean(style)).abs().max() > 0.05
