"""The shipped shapes captioner: an exported run captions like the run itself; with no checkpoint `vislab caption`
uses the shipped file (shapes right, a photo warned about)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import assert_one_line_error
from vislab.captioning import attention_shipped as shipped
from vislab.captioning.checkpoint import read
from vislab.captioning.predict import describe
from vislab.captioning.settings import CaptionSettings
from vislab.captioning.tokenize import tokenize

from .test_attention_train import ATT
from .tiny_runs import train_tiny

RIGHT_OF_8 = 7  # of the first 8 test pictures (8 measured), greedy; the whole test split: the JSON beside the file


def test_an_exported_run_captions_like_the_run(tmp_path):
    run = train_tiny(tmp_path / "run", **ATT)
    path = shipped.export_captioner(run.run_dir, tmp_path / "cap.pt", provenance={"made by": "test"})
    slim = read(path)
    assert "optimizer" not in slim and "rng" not in slim
    assert json.loads((tmp_path / "cap.json").read_text()) == {"made by": "test"}
    pics = [str(p) for p in sorted((run.run_dir / "samples").glob("*.png"))[:3]] + ["sample:chelsea"]
    ours = describe(CaptionSettings(images=pics, checkpoint=str(path), attention=True))
    theirs = describe(CaptionSettings(images=pics, checkpoint=str(run.run_dir), attention=True))
    assert [r["caption"] for r in ours] == [r["caption"] for r in theirs]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a["attention_weights"], b["attention_weights"], atol=2e-4)


@pytest.mark.skipif(not shipped.SHIPPED_PATH.is_file(), reason="the shipped captioner is not in this checkout")
def test_caption_with_no_checkpoint_uses_the_shipped_model(cli, tmp_path):
    from vislab.captioning.shapes import make_shapes
    from vislab.images import from_array, save_image

    assert shipped.SHIPPED_PATH.stat().st_size <= 3 * 2**20
    ds = make_shapes(1600, seed=0)  # the shipped model's data: these are pictures it was not trained on
    test = [int(i) for i in ds.splits["test"][:8]]
    for i in test:
        save_image(from_array(ds.image(i)), tmp_path / f"s{i}.png")
    r = cli("caption", *(tmp_path / f"s{i}.png" for i in test), "sample:chelsea", "--json")
    assert r.rc == 0, r.err
    records = json.loads(r.out)
    # compared as the scores compare them: tokenized, so "a, b and c" is "a b and c"
    right = sum(tokenize(rec["caption"]) in [tokenize(c) for c in ds.captions[i]] for rec, i in zip(records, test))
    assert right >= RIGHT_OF_8, [rec["caption"] for rec in records]
    assert "warning" in records[-1] and "sample:chelsea" in r.err  # a photo: out of its domain


def test_without_the_shipped_file_the_checkpoint_must_be_given(cli, monkeypatch, tmp_path):
    monkeypatch.setattr(shipped, "SHIPPED_PATH", tmp_path / "gone.pt")
    assert_one_line_error(cli("caption", "sample:chelsea"), "--checkpoint", "gone.pt")
