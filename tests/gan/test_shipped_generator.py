"""The DCGAN MNIST generator shipped in vislab/assets: a small safe file of the course's generator, whose samples
the (independently trained) shipped MNIST scorer rates as digits, used by `gan sample` and `gan eval` when no
checkpoint is given, and by the demo's picture."""

from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import assert_one_line_error
from vislab.gan import evaluate as ev
from vislab.gan import sample, shipped
from vislab.gan.checkpoint import open_generator
from vislab.gan.demo import SHIPPED_GRID, shipped_beside_run
from vislab.gan.models import build_dc_generator
from vislab.gan.outputs import grid_tiles
from vislab.gan.settings import GanEvalSettings, GanSampleSettings
from vislab.images import load_image
from vislab.jobs import SettingError
from vislab.report.data import data_line

SCORED = 300
# Measured (quality/export_generator.py): the stored weights score 8.27 on 10,000 samples of noise seed 0 (the
# provenance JSON); the first 64 / 100 / 300 of them 7.90 / 8.14 / 8.25. The bar is issue 24's: >= 7 (real test
# digits 9.84; an untrained generator < 3).
BAR = 7.0


def _no_training(*args, **kwargs):
    raise AssertionError("the scorer was trained")


@pytest.fixture(scope="module")
def scorer():
    mp = pytest.MonkeyPatch()
    mp.setattr(ev, "train_classifier", _no_training)  # the shipped scorer, never a fresh one
    try:
        yield ev.load_scorer("mnist", progress=False)
    finally:
        mp.undo()


def test_asset_is_a_small_safe_file_of_the_dcgan_generator():
    path = shipped.SHIPPED_PATH
    assert path.is_file() and path.stat().st_size <= 3_000_000
    state = torch.load(path, map_location="cpu", weights_only=True)  # no pickled code
    assert state["vislab_kind"] == "gan-generator" and state["dataset"] == "mnist"
    assert not {"discriminator", "opt_g", "opt_d", "rng"} & set(state)  # generator weights only
    weights = shipped.unpack(state["generator"])
    noise_dim = state["config"]["noise_dim"]
    want = build_dc_generator(noise_dim).state_dict()
    assert {k: tuple(v.shape) for k, v in weights.items()} == {k: tuple(v.shape) for k, v in want.items()}
    build_dc_generator(noise_dim).load_state_dict(weights)  # strict
    facts = json.loads(shipped.PROVENANCE_PATH.read_text())
    assert facts["dataset"] == "mnist" and facts["bytes"] == path.stat().st_size and facts["mnist_score"] >= BAR


def test_pack_keeps_small_weights_and_factors_the_largest_exactly_at_full_rank():
    torch.manual_seed(0)
    w = {"a.weight": torch.randn(40, 12), "b.weight": torch.randn(3, 4), "n": torch.tensor(7)}
    packed = shipped.pack(w, rank=5)
    assert isinstance(packed["a.weight"], tuple) and packed["a.weight"][0].shape == (40, 5)
    u, s, vh = torch.linalg.svd(w["a.weight"].double())  # the best rank-5 approximation (Eckart-Young)
    best = (u[:, :5] * s[:5]) @ vh[:5]
    torch.testing.assert_close(shipped.unpack(packed)["a.weight"].double(), best, atol=2e-2, rtol=0)
    assert torch.equal(shipped.unpack(packed)["b.weight"], w["b.weight"].half().float())
    assert shipped.unpack(packed)["n"].item() == 7
    whole = shipped.unpack(shipped.pack(w, rank=12))  # rank >= the matrix's: stored whole, float16 only
    torch.testing.assert_close(whole["a.weight"], w["a.weight"], atol=2e-3, rtol=1e-3)


def test_shipped_samples_score_as_digits(scorer):
    g = open_generator(None)
    assert g.dataset == "mnist" and g.settings.arch == "dcgan" and not g.generator.training
    x = ev.generate(g.generator, g.settings.noise_dim, SCORED, seed=0)
    scores = ev.score_images(scorer, x)
    assert scores["mnist_score"] >= BAR and scores["modes"] == 10, scores
    with torch.random.fork_rng():  # the same measure tells noise from digits: an untrained generator fails it
        torch.manual_seed(0)
        untrained = build_dc_generator(g.settings.noise_dim).eval()
    assert ev.score_images(scorer, ev.generate(untrained, g.settings.noise_dim, SCORED, seed=0))["mnist_score"] < 3


def test_settings_default_to_the_shipped_generator_and_refuse_raw():
    assert GanSampleSettings().checkpoint == GanEvalSettings().checkpoint == shipped.SHIPPED
    assert shipped.is_shipped(None) and shipped.is_shipped("shipped") and not shipped.is_shipped("./shipped")
    with pytest.raises(SettingError, match="raw"):
        open_generator("shipped", raw=True)


def test_gan_sample_without_checkpoint_draws_digits(cli, tmp_path, scorer):
    out = tmp_path / "run"
    r = cli("gan", "sample", "-n", "100", "--device", "cpu", "--out", out, "--quiet")
    assert r.rc == 0, r.err
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["checkpoint"] == "shipped" and config["dataset"] == "mnist"
    assert data_line(config) == "Generator trained on: MNIST (the generator shipped with vislab)"
    grid = load_image(out / "samples.png")  # the picture as a user sees it, scored
    assert grid.shape == (3, 302, 302)
    assert ev.score_images(scorer, grid_tiles(grid, 100))["mnist_score"] >= BAR


def test_library_sample_matches_the_demo_grid(tmp_path):
    result = sample.run(GanSampleSettings(n=16, device="cpu"), tmp_path / "s")
    run = tmp_path / "train"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"config": {"dataset": "digits"}}))
    (run / "metrics.jsonl").write_text('{"step": 1, "d_loss": 1.0, "g_loss": 2.0}\n'
                                       '{"step": 2, "d_loss": 0.5, "g_loss": 1.5}\n')
    figure = shipped_beside_run(run, n=16)
    assert load_image(figure).shape[0] == 3
    # The demo's grid is `gan sample`'s for the same seed: both draw the same noise from the same stream.
    assert torch.equal(load_image(run / SHIPPED_GRID), load_image(result.files["grid"]))


@pytest.mark.parametrize("damage", ["missing", "not a checkpoint", "wrong shapes"])
def test_an_unusable_asset_is_one_line_and_no_run(cli, tmp_path, monkeypatch, damage):
    fake = tmp_path / "generator.pt"
    if damage == "not a checkpoint":
        fake.write_bytes(b"not a checkpoint")
    elif damage == "wrong shapes":
        state = torch.load(shipped.SHIPPED_PATH, weights_only=True)
        state["config"]["noise_dim"] = 64  # the weights were made for 96
        torch.save(state, fake)
    monkeypatch.setattr(shipped, "SHIPPED_PATH", fake)
    r = cli("gan", "sample", "-n", "4", "--device", "cpu", "--out", tmp_path / "run")
    assert_one_line_error(r, "--checkpoint", str(fake))
    assert not (tmp_path / "run").exists()
