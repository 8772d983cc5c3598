"""The public-domain paintings shipped in vislab/assets: loadable as sample:NAME, small, documented, and the style
picture of style transfer and texture synthesis when none is given (library settings and CLI alike)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import vislab
import vislab.registry
from vislab.cli import build_parser
from vislab.cli.build import settings_of
from vislab.images import DEFAULT_PAINTING, SAMPLE_IMAGES, SAMPLE_PAINTINGS, load_image
from vislab.style.settings import StyleSettings, TextureSettings

ASSETS = Path(vislab.__file__).parent / "assets"
# (width, height) after downscaling the shared originals to 512 px on the long side (starry_night 1280x1014,
# the_scream 1200x1528, shipwreck 960x662).
SIZES = {"starry_night": (512, 406), "the_scream": (402, 512), "shipwreck": (512, 353)}


@pytest.mark.parametrize("name", SAMPLE_PAINTINGS)
def test_painting_loads_as_a_sample_with_its_size(name):
    assert name in SAMPLE_IMAGES
    x = load_image(f"sample:{name}")
    w, h = SIZES[name]
    assert x.shape == (3, h, w) and x.dtype == torch.float32
    assert 0 <= float(x.min()) and float(x.max()) <= 1 and float(x.std()) > 0.1  # a picture, not a flat field
    path = ASSETS / f"{name}.jpg"
    assert path.stat().st_size <= 150_000
    with Image.open(path) as im:  # the same pixels as the file, decoded independently
        assert im.format == "JPEG" and max(im.size) <= 512
        ref = np.asarray(im.convert("RGB"), dtype=np.float32) / 255
    assert np.array_equal(x.permute(1, 2, 0).numpy(), ref)


def test_provenance_note_names_each_work_and_its_status():
    note = (ASSETS / "README.md").read_text()
    for words in ("The Starry Night", "1889", "The Scream", "1893", "The Shipwreck", "Turner", "public domain"):
        assert words in note, words


def test_default_style_is_starry_night_in_settings_and_cli():
    assert DEFAULT_PAINTING == "sample:starry_night"
    assert StyleSettings().styles == (DEFAULT_PAINTING,) and TextureSettings().style == DEFAULT_PAINTING
    parser = build_parser()
    args = parser.parse_args(["style", "sample:chelsea"])
    assert settings_of(vislab.registry.get("style"), args).styles == (DEFAULT_PAINTING,)
    args = parser.parse_args(["style", "sample:chelsea", "sample:the_scream"])  # a given style replaces it
    assert settings_of(vislab.registry.get("style"), args).styles == ("sample:the_scream",)
    assert settings_of(vislab.registry.get("texture"), parser.parse_args(["texture"])).style == DEFAULT_PAINTING
    texture = settings_of(vislab.registry.get("texture"), parser.parse_args(["texture", "sample:shipwreck"]))
    assert texture.style == "sample:shipwreck"
