"""Where an attention captioner looked for each word: the weights per word, and a strip of pictures (the view the
model saw, then one copy per word with that word's attention map over it, the word underneath)."""

from __future__ import annotations

import functools

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..errors import CheckpointError
from ..images import from_array, make_grid, overlay, resize, to_uint8
from .checkpoint import Captioner
from .features import image_view

PANEL = 112  # pixels per picture of the strip
LABEL = 18  # pixels of text under each picture


def check_attention(captioner: Captioner) -> None:
    if not getattr(captioner.model, "positions", 0):
        raise CheckpointError("this model was trained without attention (caption train --attention), so it has "
                              "no attention maps to draw")


def word_attention(captioner: Captioner, raw_features: np.ndarray, beam: int = 1) -> list[tuple[list[str],
                                                                                              np.ndarray]]:
    """Per row: (the caption's words, their attention (words, rows, cols)); the same caption `decode` gives (the
    decoding is repeated: it is deterministic)."""
    check_attention(captioner)
    m = captioner.model
    x = captioner.transform(raw_features)
    steps = captioner.max_length + 1
    ids = m.sample(x, steps) if beam <= 1 else m.beam_search(x, beam_size=beam, max_length=steps)
    alphas = m.attend(x, ids)
    grid = captioner.feature_spec.grid
    out = []
    for row, a in zip(ids, alphas):
        words = []
        for w in row:
            if int(w) in (m._end, m._null):
                break
            words.append(captioner.vocab.idx_to_word[int(w)])
        out.append((words, a[:len(words)].reshape(len(words), *grid)))
    return out


def attention_strip(img: torch.Tensor, size: int, words: list[str], maps: np.ndarray) -> torch.Tensor:
    """(3, H, W): the square view the model saw, then each word's map over it (bilinear, scaled to its own
    maximum), labelled."""
    view = resize(image_view(img, size), (PANEL, PANEL))
    panels = [view] + [overlay(view, m / max(float(m.max()), 1e-12), alpha=0.6) for m in maps]
    strip = make_grid(torch.stack(panels), nrow=len(panels), padding=2)
    canvas = Image.new("RGB", (strip.shape[2], strip.shape[1] + LABEL), (255, 255, 255))
    canvas.paste(Image.fromarray(to_uint8(strip)), (0, 0))
    draw, font = ImageDraw.Draw(canvas), _font(12)
    for k, word in enumerate(["(image)", *words]):
        draw.text((2 + k * (PANEL + 2) + 3, strip.shape[1] + 1), word, fill=(20, 20, 20), font=font)
    return from_array(np.asarray(canvas))


@functools.lru_cache(maxsize=2)
def _font(size: int) -> ImageFont.ImageFont:
    try:  # matplotlib ships DejaVu Sans, so it is there wherever vislab installs
        from matplotlib import font_manager

        return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)
    except (OSError, ImportError, ValueError):
        return ImageFont.load_default()
