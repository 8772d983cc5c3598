"""A decorrelated Fourier image parameterization (Olah et al., "Feature Visualization", Distill 2017; lucid).

Optimizing pixels directly lets gradient ascent pile up high-frequency noise, because every pixel and every
colour channel is a free, equally cheap direction. Here the free variables are instead

- the image's 2-D Fourier coefficients, each scaled by 1/frequency, so that a unit step changes low
  frequencies as much as natural images vary there (natural image spectra fall off roughly like 1/f), and
- three decorrelated colour channels, mixed into RGB by the square root of ImageNet's colour covariance, so
  steps move along natural colour directions,

and a sigmoid maps the result into [0, 1]. Gradient steps on these variables are "whitened": the optimizer
sees a problem whose directions are about equally important, and the images come out smoother and more
natural.
"""

from __future__ import annotations

import torch
from torch import nn

# Square root of the colour covariance of ImageNet pixels, from its SVD (the matrix lucid publishes): column j
# is the RGB direction of decorrelated channel j. Scaled so its largest column has norm 1.
# device: cpu-ok (module constant, moved .to(x) at use)
COLOR_CORRELATION_SQRT = torch.tensor([[0.26, 0.09, 0.02],
                                       [0.27, 0.00, -0.05],
                                       [0.27, -0.09, 0.03]])
COLOR_MIX = COLOR_CORRELATION_SQRT / COLOR_CORRELATION_SQRT.norm(dim=0).max()


def frequency_scale(h: int, w: int, decay_power: float = 1.0) -> torch.Tensor:
    """(H, W//2+1) factors 1 / max(f, 1/max(H, W))^decay for the rfft2 grid (f in cycles per pixel)."""
    fy = torch.fft.fftfreq(h)[:, None]
    fx = torch.fft.rfftfreq(w)[None, :]
    f = torch.sqrt(fx * fx + fy * fy)
    return 1.0 / f.clamp_min(1.0 / max(h, w)) ** decay_power


def spectrum_to_pixels(spectrum: torch.Tensor, scale: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Complex spectrum (N, 3, H, W//2+1) times `scale` -> real decorrelated image (N, 3, H, W) by inverse
    rFFT (orthonormal, so white noise in the spectrum stays unit-variance noise in pixels before the 1/f
    scaling)."""
    return torch.fft.irfft2(spectrum * scale, s=size, norm="ortho")


def mix_colors(x: torch.Tensor) -> torch.Tensor:
    """Decorrelated channels (N, 3, H, W) -> RGB directions: rgb[c] = sum_j COLOR_MIX[c, j] * x[j]."""
    return torch.einsum("cj,njhw->nchw", COLOR_MIX.to(x), x)


class FourierImage(nn.Module):
    """``FourierImage((H, W))()`` -> images (N, 3, H, W) in (0, 1), parameterized by a scaled colour spectrum.

    Starts near uniform gray with a little low-frequency colour noise (`sd` is the spectrum's noise level).
    """

    def __init__(self, size: tuple[int, int], batch: int = 1, *, sd: float = 0.01, decay_power: float = 1.0,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        h, w = size
        self.size = (h, w)
        self.register_buffer("scale", frequency_scale(h, w, decay_power))
        # Real and imaginary parts as a real parameter (optimizers and state dicts handle real tensors
        # everywhere).
        # device: cpu-ok (seeded CPU draw; the module is moved .to(device))
        self.spectrum = nn.Parameter(torch.randn((batch, 3, h, w // 2 + 1, 2), generator=generator) * sd)

    def forward(self) -> torch.Tensor:
        x = spectrum_to_pixels(torch.view_as_complex(self.spectrum), self.scale, self.size)
        # The 1/4 keeps early steps from saturating the sigmoid (lucid uses the same factor).
        return torch.sigmoid(mix_colors(x / 4))
