"""A style / invert / texture run validates its settings once and makes and checks its plan (recipe, sizes) once,
before the run folder; the functions on tensors still check everything when called directly."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from vislab.jobs import SettingError
from vislab.style import runners, transfer
from vislab.style.settings import InvertSettings, StyleSettings, TextureSettings

TINY = dict(image_size=40, iterations=2, device="cpu")


@pytest.fixture
def counted(monkeypatch):
    calls = Counter()

    def count(name, fn):
        def wrapper(*a, **k):
            calls[name] += 1
            return fn(*a, **k)
        return wrapper

    for cls in (StyleSettings, InvertSettings, TextureSettings):
        monkeypatch.setattr(cls, "validate", count("validate", cls.validate))
    for name in ("style_recipe", "invert_recipe", "texture_recipe", "check_sizes"):
        for module in (runners, transfer):  # the same function, imported in both
            monkeypatch.setattr(module, name, count(name.replace("style_", "").replace("invert_", "")
                                                    .replace("texture_", ""), getattr(module, name)))
    return calls


@pytest.mark.parametrize("settings", [
    StyleSettings(content="sample:chelsea", styles=("sample:coffee",), style_layers=("stem",), **TINY),
    InvertSettings(image="sample:coffee", layer="stem", **TINY),
    TextureSettings(style="sample:coffee", style_layers=("stem",), **TINY)], ids=["style", "invert", "texture"])
def test_a_run_checks_once(counted, settings, tmp_path):
    result = runners.run(settings, tmp_path / "run")
    assert result.status == "ok"
    assert counted == {"validate": 1, "recipe": 1, "check_sizes": 1}


def test_direct_calls_still_check_their_settings(effnet):
    content = torch.rand(3, 24, 24, generator=torch.Generator().manual_seed(0))
    with pytest.raises(SettingError, match="iterations"):
        transfer.style_transfer(effnet, content, [content], StyleSettings(iterations=0, image_size=24))
    with pytest.raises(SettingError, match="styles"):
        transfer.style_transfer(effnet, content, [], StyleSettings(image_size=24))
