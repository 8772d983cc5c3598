"""How close an optimized image is to a reference: PSNR and SSIM (scikit-image's implementations)."""

from __future__ import annotations

import numpy as np
import torch


def _hwc(img: torch.Tensor) -> np.ndarray:
    return img.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy().astype(np.float64)


def psnr(img: torch.Tensor, ref: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of (3, H, W) images in [0, 1]."""
    from skimage.metrics import peak_signal_noise_ratio

    return float(peak_signal_noise_ratio(_hwc(ref), _hwc(img), data_range=1.0))


def ssim(img: torch.Tensor, ref: torch.Tensor) -> float:
    """Structural similarity (mean over the image and channels) of (3, H, W) images in [0, 1]."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(_hwc(ref), _hwc(img), data_range=1.0, channel_axis=2))
