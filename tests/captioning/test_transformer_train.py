"""`caption train --cell transformer` end to end on tiny shapes (tiny backbone): the CLI trains, captions (greedy,
beam, attention strips) and evaluates; bad settings are one line; an interrupted run resumes bitwise."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from tests.conftest import assert_one_line_error
from tests.stopping import stop_after_save
from vislab.captioning import checkpoint as ckpt
from vislab.captioning.checkpoint import Captioner
from vislab.captioning.data import load_data
from vislab.captioning.features import FeatureSpec
from vislab.captioning.settings import CaptionTrainSettings
from vislab.captioning.train import TrainConfig, train
from vislab.captioning.transformer_decode import TransformerDecoding
from vislab.jobs import SettingError
from vislab.runs import load_checkpoint, read_metrics, save_checkpoint

from .conftest import TINY
from .tiny_runs import SMALL_FLAGS

GRID = ["--attention", "--feature-layer", "conv", "--feature-grid", "3x3"]


def test_cli_trains_captions_and_evaluates_a_transformer(tmp_path, cli):
    run = tmp_path / "run"
    r = cli("caption", "train", *SMALL_FLAGS, "--cell", "transformer", "--engine", "torch", *GRID, "--device", "cpu",
            "--out", run)
    assert r.rc == 0, r.err
    assert "trained transformer (torch)" in r.out
    state = ckpt.read(run)
    assert state["model"]["cell_type"] == "transformer" and state["transformer"]["cells"] == 9
    cap = Captioner.load(run)
    assert isinstance(cap.model, TransformerDecoding)
    for beam in ("1", "3"):
        r = cli("caption", "sample:chelsea", "--checkpoint", run, "--beam", beam, "--json")
        assert r.rc == 0, r.err
        assert json.loads(r.out)[0]["caption"]
    r = cli("caption", "sample:coffee", "--checkpoint", run, "--attention", "--out", tmp_path / "pics")
    assert r.rc == 0, r.err
    rec = json.loads((tmp_path / "pics" / "captions.json").read_text())[0]
    maps = np.array(rec["attention_weights"])
    assert maps.shape == (len(rec["words"]), 3, 3)
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), 1, atol=1e-3)
    r = cli("caption", "eval", "--checkpoint", run, "--split", "val", "--beam", "2", "--out", tmp_path / "ev")
    assert r.rc == 0, r.err
    scores = json.loads((tmp_path / "ev" / "scores.json").read_text())
    assert 0 <= scores["BLEU-4"] <= 1
    # Exported like the shipped captioner, it keeps its shape record and captions like the run itself.
    from vislab.captioning.attention_shipped import export_captioner
    from vislab.captioning.predict import describe
    from vislab.captioning.settings import CaptionSettings

    slim = export_captioner(run, tmp_path / "tf.pt", provenance={"made by": "test"})
    ours, theirs = (describe(CaptionSettings(images=["sample:coffee"], checkpoint=str(c))) for c in (slim, run))
    assert [r["caption"] for r in ours] == [r["caption"] for r in theirs]


@pytest.mark.parametrize("flags, fragments", [
    (["--cell", "transformer", "--engine", "numpy"], ("--engine", "must be torch")),
    (["--cell", "transformer", "--en=numpy"], ("--engine", "must be torch")),
    (["--cell", "transformer", "--engine", "torch", "--wordvec-dim", "6"], ("--wordvec-dim", "multiple of 4")),
    (["--cell", "gru", "--attention"], ("--attention", "lstm or transformer")),
])
def test_bad_transformer_settings_are_one_line(tmp_path, cli, flags, fragments):
    r = cli("caption", "train", *SMALL_FLAGS, *flags, "--out", tmp_path / "x")
    assert_one_line_error(r, *fragments)
    assert not (tmp_path / "x").exists()


def test_a_pooled_transformer_and_damaged_checkpoints(tmp_path, cli):
    run = tmp_path / "run"
    assert cli("caption", "train", *SMALL_FLAGS, "--cell", "transformer", "--device", "cpu", "--out", run).rc == 0
    with pytest.raises(SettingError) as e:  # the library's default engine is numpy: refused, naming the setting
        CaptionTrainSettings(cell="transformer").validate()
    assert e.value.setting == "engine"
    assert ckpt.read(run)["transformer"]["cells"] == 1  # the pooled vector: one memory token
    assert json.loads((run / "config.json").read_text())["config"]["engine"] == "torch"  # picked for the cell
    assert_one_line_error(cli("caption", "sample:coffee", "--checkpoint", run, "--attention"), "attention")
    state = load_checkpoint(run / "checkpoint.pt", kind="captioning")
    for damage, fragment in ((lambda s: s.pop("transformer"), "transformer record"),
                             (lambda s: s["transformer"].update(heads=3), "do not divide"),
                             (lambda s: s["transformer"].update(layers=3), "blocks.2"),
                             (lambda s: s["params"].update({"head.bias": s["params"]["head.bias"][:2]}), "head.bias")):
        bad = copy.deepcopy(state)
        damage(bad)
        save_checkpoint(bad, tmp_path / "bad.pt", kind="captioning")
        assert_one_line_error(cli("caption", "sample:coffee", "--checkpoint", tmp_path / "bad.pt"), "bad.pt",
                              fragment)


def test_resume_after_interrupt_matches_uninterrupted(tmp_path):
    spec = FeatureSpec(TINY, image_size=32, layer="conv", grid=(2, 2), spatial=True)
    data = load_data("shapes:40", feature_spec=spec, progress=False)
    cfg = TrainConfig(data="shapes:40", cell="transformer", engine="torch", attention=True, epochs=2, batch_size=9,
                      hidden_dim=16, wordvec_dim=8, save_every=3, log_every=1, eval_images=4, lr=1e-2, model=TINY,
                      image_size=32, feature_layer="conv", feature_grid="2x2", device="cpu")
    full = train(data, cfg, tmp_path / "full", progress=False)
    steps = len(full.losses)
    per_epoch = steps // 2
    assert np.mean(full.losses[-per_epoch:]) < 0.9 * np.mean(full.losses[:per_epoch])  # it learns

    with pytest.raises(KeyboardInterrupt):
        train(data, cfg, tmp_path / "cut", on_step=stop_after_save(6), progress=False)
    state = ckpt.read(tmp_path / "cut")
    assert state["progress"]["step"] == 6 and state["optimizer"]["state"]
    resumed = train(data, cfg, tmp_path / "cut", resume=state, progress=False)
    assert len(resumed.losses) == steps - 6
    for k, v in full.params.items():
        assert np.array_equal(v, resumed.params[k]), k  # bitwise on a CPU
    losses = [[(r["step"], r["loss"]) for r in read_metrics(tmp_path / d) if "loss" in r] for d in ("full", "cut")]
    assert losses[0] == losses[1]
