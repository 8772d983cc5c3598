"""Shared fixtures for the GAN tests: a quickly trained digits scorer (seconds, not the cached MNIST one)."""

import pytest
import torch

from vislab.gan import evaluate as ev
from vislab.gan.data import load_digits


@pytest.fixture(scope="session")
def digits_scorer():
    torch.manual_seed(0)
    return ev.build_scorer(load_digits("train"), load_digits("test"), epochs=1, batch_size=16,
                          progress=False)


@pytest.fixture
def scorer_cache(digits_scorer, tmp_path, monkeypatch):
    """VISLAB_CACHE in tmp_path holding the digits scorer, so `gan eval` never trains one."""
    monkeypatch.setenv("VISLAB_CACHE", str(tmp_path / "cache"))
    ev.save_scorer(digits_scorer, ev.scorer_path("digits"))
    return tmp_path / "cache"
