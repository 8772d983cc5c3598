"""Captioning test fixtures: a private feature cache, the tiny test backbone, a COCO-style folder."""

from __future__ import annotations

import os

import pytest
import torch
from threadpoolctl import threadpool_limits

TINY = "tests.captioning.tiny_backbone:build"


@pytest.fixture(scope="session", autouse=True)
def _private_feature_cache(tmp_path_factory):
    """Feature caches of test runs go to a temporary folder, never the user's ~/.cache."""
    old = os.environ.get("VISLAB_CACHE")
    os.environ["VISLAB_CACHE"] = str(tmp_path_factory.mktemp("vislab-cache"))
    yield
    if old is None:
        os.environ.pop("VISLAB_CACHE", None)
    else:
        os.environ["VISLAB_CACHE"] = old


@pytest.fixture(autouse=True)
def _one_thread():
    """The models here are tiny: one thread is fastest, and it keeps thread pools (OpenBLAS, torch's OpenMP)
    from spinning against the other processes of a busy 2-core machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def coco_val(shared_data):
    d = shared_data / "captioning" / "coco2017_val_mini"
    return d / "captions_val2017.json", d / "val2017"


@pytest.fixture(scope="session")
def coco_train(shared_data):
    d = shared_data / "captioning" / "coco2017_train_mini"
    return d / "captions_train2017.json", d / "train2017"
