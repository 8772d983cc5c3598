"""Captioning warns about images unlike its training images: the distance against its closed form, the rule on
a trained model (shapes pass, photos are flagged) on the CLI, in captions.json and in the report, and older
checkpoints without the statistics (no warning, no crash)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from vislab.captioning import checkpoint as ckpt
from vislab.captioning import evaluate, predict
from vislab.captioning.familiarity import FACTOR, Familiarity, distances
from vislab.captioning.features import FeatureTransform
from vislab.captioning.settings import CaptionEvalSettings, CaptionSettings
from vislab.errors import CheckpointError
from vislab.report import build_report
from vislab.report.scan import scan_run

from ..conftest import assert_one_line_error
from .tiny_runs import train_tiny

PHOTOS = ["sample:coffee", "sample:chelsea", "sample:astronaut"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("fam") / "run", data="shapes:200")


def _pictures(trained) -> list[str]:
    return [str(p) for p in sorted((trained.run_dir / "samples").glob("*.png"))]


def test_distance_is_the_rms_z_score():
    rng = np.random.default_rng(0)
    mean, std = rng.normal(size=50), rng.uniform(0.5, 2, size=50)
    t = FeatureTransform(mean.astype(np.float32), std.astype(np.float32))
    # k standard deviations away in every dimension: distance k, whatever the signs.
    signs = rng.choice([-1.0, 1.0], size=50)
    assert distances(t, np.stack([mean, mean + 3 * std * signs]))[1] == pytest.approx(3, rel=1e-5)
    assert distances(t, mean[None])[0] == pytest.approx(0, abs=1e-5)
    # Gaussian samples of the training distribution: E[z^2] = 1, so distances concentrate near 1.
    d = distances(t, mean + std * rng.normal(size=(4000, 50)))
    assert abs(np.median(d) - 1) < 0.03
    fam = Familiarity.fit(t, mean + std * rng.normal(size=(4000, 50)))
    assert fam.p99 == pytest.approx(np.sqrt(np.percentile(rng.chisquare(50, 200_000) / 50, 99)), rel=0.03)


def test_shapes_pass_and_photos_are_flagged(trained):
    captioner = ckpt.Captioner.load(trained.run_dir)
    assert captioner.familiarity is not None and captioner.familiarity.images == 160  # the train split
    records = predict.describe(CaptionSettings(images=[*_pictures(trained), *PHOTOS],
                                               checkpoint=str(trained.run_dir)))
    shapes, photos = records[:-len(PHOTOS)], records[-len(PHOTOS):]
    assert all("warning" not in r for r in shapes)
    assert all("warning" in r and r["distance"] > FACTOR * captioner.familiarity.p99 for r in photos)
    assert min(r["distance"] for r in photos) > 1.5 * max(r["distance"] for r in shapes)  # a clear margin


def test_cli_warns_on_stderr_and_in_the_run_folder_and_report(cli, trained, tmp_path):
    shape = _pictures(trained)[0]
    r = cli("caption", shape, "sample:coffee", "--checkpoint", trained.run_dir, "--out", tmp_path / "p")
    assert r.rc == 0, r.err
    warnings = [line for line in r.err.splitlines() if line.startswith("vislab: warning:")]
    assert len(warnings) == 1 and "sample:coffee" in warnings[0] and "unlike the images" in warnings[0]
    assert len(r.out.splitlines()) == 2  # the captions themselves, on stdout as before
    written = json.loads((tmp_path / "p" / "captions.json").read_text())
    assert "warning" not in written[0] and "warning" in written[1]
    assert all((tmp_path / "p" / w["picture"]).is_file() for w in written)
    status = json.loads((tmp_path / "p" / "status.json").read_text())
    assert "1 of 2 images are unlike" in status["message"] and status["numbers"]["unfamiliar_images"] == 1
    assert scan_run(tmp_path / "p").state == "complete"
    page = build_report([tmp_path / "p"], tmp_path / "r.html").read_text()
    assert page.count("unlike the images the model was trained on") >= 2  # the run's message and the picture


def test_eval_counts_unfamiliar_images(trained, tmp_path):
    r = evaluate.run(CaptionEvalSettings(checkpoint=str(trained.run_dir), split="test"), tmp_path / "e")
    assert r.numbers["unfamiliar_images"] == r.unfamiliar <= 1  # its own test pictures: at most a stray one
    records = json.loads((tmp_path / "e" / "captions.json").read_text())
    assert all("distance" in x for x in records)


def test_an_older_checkpoint_without_statistics_captions_without_warning(cli, trained, tmp_path):
    state = torch.load(trained.run_dir / "checkpoint.pt", weights_only=True)
    del state["features"]["familiarity"]
    old = tmp_path / "old.pt"
    torch.save(state, old)
    r = cli("caption", "sample:coffee", "--checkpoint", old, "--json")
    assert r.rc == 0, r.err
    assert "warning" not in r.err and json.loads(r.out)[0].keys() == {"image", "caption"}


def test_malformed_statistics_are_a_checkpoint_error(cli, trained, tmp_path):
    state = torch.load(trained.run_dir / "checkpoint.pt", weights_only=True)
    state["features"]["familiarity"] = {"p50": 1.0, "p99": float("nan"), "images": 3}
    bad = tmp_path / "bad.pt"
    torch.save(state, bad)
    with pytest.raises(CheckpointError, match="malformed"):
        ckpt.read(bad)
    assert_one_line_error(cli("caption", "sample:coffee", "--checkpoint", bad), "bad.pt", "malformed")
