"""Colour preservation (Gatys et al., 2016, "Preserving color in neural artistic style transfer").

``--original-colors`` transfers style in luminance only: content and style become grey images of their
luminance (the style's luminance matched to the content's mean and spread), the transfer runs on those, and
the result's luminance is recombined with the content's chrominance (YIQ): the output has the photo's colours.
"""

from __future__ import annotations

import torch

# NTSC YIQ (the transform Gatys et al. use); rows give Y, I, Q from R, G, B. A constant: every use moves it to
# the image's device and dtype.
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114],  # device: cpu-ok (module constant, moved with .to at use)
                            [0.595716, -0.274453, -0.321263],
                            [0.211456, -0.522591, 0.311135]])


def rgb_to_yiq(img: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) RGB -> YIQ, same shape."""
    m = _RGB_TO_YIQ.to(img.device, img.dtype)
    return torch.einsum("ij,...jhw->...ihw", m, img)


def yiq_to_rgb(img: torch.Tensor) -> torch.Tensor:
    """Inverse of `rgb_to_yiq`."""
    m = torch.linalg.inv(_RGB_TO_YIQ.double()).to(img.device, img.dtype)
    return torch.einsum("ij,...jhw->...ihw", m, img)


def luminance(img: torch.Tensor) -> torch.Tensor:
    """RGB -> a grey RGB image of its luminance Y (all three channels equal)."""
    y = rgb_to_yiq(img)[..., :1, :, :]
    return y.expand_as(img).clone()


def match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The style's grey luminance image shifted and scaled to the content's luminance mean and standard
    deviation, so the transfer reproduces the painting's strokes rather than its overall brightness."""
    ys, yc = luminance(style), luminance(content)
    out = (ys - ys.mean()) / ys.std().clamp_min(1e-6) * yc.std() + yc.mean()
    return out.clamp(0, 1)


def keep_colors(result: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The result's luminance with the content's chrominance (the content resized to the result's size)."""
    if content.shape[-2:] != result.shape[-2:]:
        from ..images import resize

        content = resize(content, tuple(result.shape[-2:]))
    yiq = rgb_to_yiq(content).clone()
    yiq[..., :1, :, :] = rgb_to_yiq(result)[..., :1, :, :]
    return yiq_to_rgb(yiq).clamp(0, 1)


def match_colors(image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """`image` (3, H, W) with the RGB mean and covariance of `reference` (3, h, w): x' = A (x - m_x) + m_r with
    A = C_r^1/2 C_x^-1/2 (symmetric square roots), the linear colour transfer of Gatys et al. (2016), sec. 2.1,
    here used the other way round: the photo takes the painting's palette."""
    x, r = image.reshape(3, -1).double(), reference.reshape(3, -1).double()
    mx, mr = x.mean(1, keepdim=True), r.mean(1, keepdim=True)
    eye = 1e-5 * torch.eye(3, dtype=torch.float64, device=x.device)
    a = _sqrtm(torch.cov(r) + eye) @ torch.linalg.inv(_sqrtm(torch.cov(x) + eye))
    out = a @ (x - mx) + mr
    return out.reshape(image.shape).to(image.dtype).clamp(0, 1)


def _sqrtm(c: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(c)
    return vecs @ torch.diag(vals.clamp_min(0).sqrt()) @ vecs.T
