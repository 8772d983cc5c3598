"""A run resumed on the GPU continues exactly: bitwise with `deterministic` (deterministic kernels, the cuBLAS
workspace fixed by conftest's CUBLAS_WORKSPACE_CONFIG, no cuDNN autotuning), within a stated tolerance without it.
The CPU path is bitwise either way (tests/gan/test_train.py, tests/captioning/test_train.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.stopping import Stop, stop_after_save, stop_at
from vislab.captioning import checkpoint as ckpt
from vislab.captioning.data import load_data
from vislab.captioning.features import FeatureSpec
from vislab.captioning.train import TrainConfig as CaptionConfig
from vislab.captioning.train import train as caption_train
from vislab.gan.settings import TrainConfig
from vislab.gan.train import train
from vislab.runs import load_checkpoint

from .conftest import DEVICE, skip_without_device

skip_without_device()
pytestmark = pytest.mark.gpu




def _gan(arch: str, deterministic: bool) -> TrainConfig:
    return TrainConfig(arch=arch, loss="bce", data="digits", batch_size=32, noise_dim=16, max_steps=12, limit=640,
                       checkpoint_every=6, sample_every=100, log_every=2, eval_samples=0, seed=3, ema=0.9,
                       device=DEVICE, deterministic=deterministic)


def _gan_resumed(tmp_path, cfg):
    full = train(cfg, tmp_path / "full")
    with pytest.raises(Stop):  # dies after step 8; the last checkpoint is from step 6
        train(cfg, tmp_path / "cut", progress=stop_at(8))
    train(cfg, tmp_path / "cut2", resume=tmp_path / "cut")
    a = load_checkpoint(full["checkpoint"], kind="gan")
    b = load_checkpoint(tmp_path / "cut2" / "checkpoint.pt", kind="gan")
    assert a["step"] == b["step"] == 12
    return [(f"{key}.{name}", t, b[key][name]) for key in ("generator", "discriminator", "generator_ema")
            for name, t in a[key].items()]


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_gan_resumed_with_deterministic_is_bitwise(tmp_path, arch):
    differ = [name for name, x, y in _gan_resumed(tmp_path, _gan(arch, True)) if not torch.equal(x, y)]
    assert not differ, f"{len(differ)} tensors differ after a deterministic resume: {differ[:5]}"


def test_gan_resumed_without_deterministic_is_close(tmp_path):
    """Without it cuDNN may pick other (atomic) kernels after a resume: weights stay within 1e-3 after 6 steps."""
    for name, x, y in _gan_resumed(tmp_path, _gan("dcgan", False)):
        if x.is_floating_point():
            torch.testing.assert_close(y, x, rtol=1e-3, atol=1e-3, msg=name)


def test_caption_torch_engine_resumed_with_deterministic_is_bitwise(tmp_path):
    data = load_data("shapes:40", feature_spec=FeatureSpec("efficientnet_lite0", image_size=32), progress=False,
                     device=DEVICE)
    cfg = CaptionConfig(data="shapes:40", engine="torch", cell="gru", epochs=3, batch_size=9, hidden_dim=16,
                        wordvec_dim=8, save_every=4, log_every=1, eval_images=4, lr=1e-2, image_size=32,
                        device=DEVICE, deterministic=True)
    full = caption_train(data, cfg, tmp_path / "full", progress=False)

    with pytest.raises(Stop):
        caption_train(data, cfg, tmp_path / "cut", progress=False, on_step=stop_after_save(8))
    state = ckpt.read(tmp_path / "cut")
    assert state["progress"]["step"] == 8
    resumed = caption_train(data, cfg, tmp_path / "cut", resume=state, progress=False)
    for k, v in full.params.items():
        assert np.array_equal(v, resumed.params[k]), k
