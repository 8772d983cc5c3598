"""`caption train --attention` end to end on tiny shapes (tiny backbone): both engines train the same model, the
checkpoint carries the attention, and captioning from it gives per-word attention."""

from __future__ import annotations

import numpy as np
import pytest

from vislab.captioning.attention import AttentionCaptioner
from vislab.captioning.checkpoint import Captioner, read
from vislab.jobs import SettingError

from .tiny_runs import train_tiny

ATT = dict(attention=True, feature_layer="conv", feature_grid="3x3")


def test_attention_training_both_engines_agree(tmp_path):
    a = train_tiny(tmp_path / "np", dtype="float64", **ATT)
    b = train_tiny(tmp_path / "torch", engine="torch", dtype="float64", device="cpu", **ATT)
    state = read(a.run_dir)
    assert state["model"]["attention"]["positions"] == 9
    assert state["features"]["spec"]["spatial"] is True
    np.testing.assert_allclose(a.losses, b.losses, rtol=1e-6)
    cap = Captioner.from_state(state)
    assert isinstance(cap.model, AttentionCaptioner)
    for k, v in b.params.items():
        np.testing.assert_allclose(cap.model.params[k], v, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("kw, setting", [(dict(cell="gru"), "attention"), (dict(pca_dim=4), "pca_dim")])
def test_attention_refuses_what_it_cannot_use(tmp_path, kw, setting):
    with pytest.raises(SettingError) as e:
        train_tiny(tmp_path / "x", **ATT, **kw)
    assert e.value.setting == setting
