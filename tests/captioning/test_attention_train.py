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
    # one mean and std per channel, shared by the 9 cells
    for k in ("mean", "std"):
        cells = state["features"]["transform"][k].numpy().reshape(9, -1)
        np.testing.assert_array_equal(cells, np.broadcast_to(cells[0], cells.shape))
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


def test_caption_attention_writes_one_strip_per_image(tmp_path, cli):
    import json

    from vislab.images import load_image

    run = train_tiny(tmp_path / "run", **ATT)
    out = tmp_path / "pics"
    r = cli("caption", "sample:chelsea", "sample:coffee", "--checkpoint", run.run_dir, "--attention", "--out", out)
    assert r.rc == 0, r.err
    records = json.loads((out / "captions.json").read_text())
    status = json.loads((out / "status.json").read_text())
    cap = Captioner.load(run.run_dir)
    for i, rec in enumerate(records):
        maps = np.array(rec["attention_weights"])
        assert maps.shape == (len(rec["words"]), 3, 3)
        np.testing.assert_allclose(maps.sum(axis=(1, 2)), 1, atol=1e-3)
        assert " ".join(rec["words"]) == rec["caption"] or "<UNK>" in rec["caption"]
        strip = load_image(out / rec["attention"])
        assert strip.shape[2] == 2 + (1 + len(rec["words"])) * (112 + 2)  # the view + one panel per word
        assert status["files"][f"attention_{i:02d}"] == rec["attention"]
    # the weights are the model's own: the same as re-reading the caption
    from vislab.captioning.evaluate import image_features

    feats = cap.transform(image_features(cap, ["sample:chelsea"]))
    ids = cap.model.sample(feats, cap.max_length + 1)
    n = len(records[0]["words"])
    np.testing.assert_allclose(cap.model.attend(feats, ids)[0, :n].reshape(n, 3, 3),
                               records[0]["attention_weights"], atol=1e-4)
    # a model without attention has no maps: one line, nothing written
    plain = train_tiny(tmp_path / "plain")
    r = cli("caption", "sample:chelsea", "--checkpoint", plain.run_dir, "--attention", "--out", tmp_path / "none")
    assert r.rc == 2 and "without attention" in r.err and not (tmp_path / "none").exists()


def test_attention_features_default_to_the_shapes_grid_and_take_overrides():
    from vislab.captioning.settings import CaptionTrainSettings
    from vislab.captioning.train import SHAPES_ATTENTION, feature_spec

    spec = feature_spec(CaptionTrainSettings(attention=True))
    assert (spec.layer, spec.grid, spec.image_size, spec.spatial) == ("block7", (8, 8), 128, True)
    assert spec.positions == SHAPES_ATTENTION.grid[0] * SHAPES_ATTENTION.grid[1] == 64
    spec = feature_spec(CaptionTrainSettings(attention=True, feature_layer="block4", feature_grid="16x16"))
    assert (spec.layer, spec.grid, spec.image_size) == ("block4", (16, 16), 128)
    assert feature_spec(CaptionTrainSettings(attention=True, image_size=256)).image_size == 256
    spec = feature_spec(CaptionTrainSettings(attention=True, data="coco:x.json:imgs"))
    assert (spec.layer, spec.grid, spec.image_size) == ("head", (7, 7), 224)
