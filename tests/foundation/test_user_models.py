"""A user's own model (``module:factory``) is checked when it is loaded: every way the factory, its extra keys or
the model's outputs can be wrong is a `ConfigError` naming the model, and good models of other shapes load."""

from __future__ import annotations

import pytest
import torch

from vislab import backbones
from vislab.errors import ConfigError

MODULE = '''
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self, out=3, fail=False, nan=False):
        super().__init__()
        self.fc = nn.Linear(3, out)
        self.fail, self.nan = fail, nan

    def forward(self, x):
        if self.fail:
            raise ValueError("expected 1 channel")
        y = self.fc(x.mean(dim=(2, 3)))
        return y * float("nan") if self.nan else y

def with_(**info):
    return lambda: {"model": Net(), "classes": ["a", "b", "c"], **info}

bad_size = with_(input_size=0)
text_size = with_(input_size="224")
short_mean = with_(mean=(0.5, 0.5))
zero_std = with_(std=(0.2, 0.0, 0.2))
text_classes = with_(classes="abc")
good = with_(input_size=20, mean=(0.1, 0.2, 0.3))
failing = lambda: {"model": Net(fail=True), "classes": ["a", "b", "c"]}
nan_scores = lambda: {"model": Net(nan=True), "classes": ["a", "b", "c"]}
wrong_type = lambda: {"model": "resnet"}
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "user_models_check.py").write_text(MODULE)
    monkeypatch.chdir(tmp_path)
    return "user_models_check"


@pytest.mark.parametrize("factory, fragment", [
    ("bad_size", "input_size must be a whole number"),
    ("text_size", "input_size must be a whole number"),
    ("short_mean", "mean must be three numbers"),
    ("zero_std", "std must be three positive numbers"),
    ("text_classes", "classes must be a non-empty list"),
    ("failing", "forward pass on a (2, 3, 224, 224) batch failed (ValueError: expected 1 channel)"),
    ("nan_scores", "NaN or infinite scores"),
    ("wrong_type", "must return an nn.Module"),
])
def test_each_fault_of_a_user_model_is_named(user_module, factory, fragment):
    with pytest.raises(ConfigError) as e:
        backbones.load(f"{user_module}:{factory}")
    assert f"{user_module}:{factory}" in str(e.value) and fragment in str(e.value)


def test_a_good_user_model_keeps_its_settings(user_module):
    bb = backbones.load(f"{user_module}:good")
    assert bb.input_size == 20 and bb.mean == (0.1, 0.2, 0.3) and bb.classes == ("a", "b", "c")
    assert bb(torch.rand(4, 3, 20, 20)).shape == (4, 3)


@pytest.mark.parametrize("spec", ["tests.style.tiny_model:build", "tests.captioning.tiny_backbone:build",
                                  "tests.visualize.tiny_classifier:build"])
def test_the_test_suites_own_tiny_models_still_load(spec):
    bb = backbones.load(spec)
    n = len(bb.classes)
    assert bb(torch.rand(2, 3, bb.input_size, bb.input_size)).shape == (2, n)
