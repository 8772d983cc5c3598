"""Grounded attention (`--attention-grounding`): which words get which box, both engines training the same
grounded loss, and the settings and data it refuses."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import assert_one_line_error
from vislab.captioning.attention_shapes import cell_overlap, grounded_words, grounding
from vislab.captioning.checkpoint import Captioner
from vislab.captioning.shapes import Shape
from vislab.captioning.transformer import TransformerCaptioner
from vislab.jobs import SettingError

from .test_attention_train import ATT
from .tiny_runs import SMALL_FLAGS, nothing_written, train_tiny

SCENE = [Shape("circle", "red", "small", 0.2, 0.5), Shape("square", "blue", "large", 0.7, 0.5),
         Shape("circle", "red", "large", 0.5, 0.2)]


def test_colour_and_kind_words_of_a_phrase_get_its_shape():
    words = "a small red circle left of a large blue square <END>".split()
    assert grounded_words(words, SCENE) == [-1, -1, 0, 0, -1, -1, -1, -1, 1, 1, -1]
    # "red" and "circle" alone name two shapes each, but the phrase names one
    assert grounded_words("a large red circle".split(), SCENE) == [-1, -1, 2, 2]
    # a phrase that fits no shape (a wrong caption) or two of them is not grounded
    assert grounded_words("a large green circle".split(), SCENE) == [-1] * 4
    twins = [SCENE[0], Shape("circle", "red", "small", 0.8, 0.8)]
    assert grounded_words("a small red circle".split(), twins) == [-1] * 4


def test_grounding_targets_are_the_boxes_cell_overlaps():
    vocab = ["<NULL>", "<START>", "<END>", "a", "small", "red", "circle", "large", "blue", "square", "left", "of"]
    ids = {w: i for i, w in enumerate(vocab)}
    caption = "<START> a small red circle left of a large blue square <END>".split()
    captions = np.array([[ids[w] for w in caption], [ids[w] for w in caption[:5]] + [ids["<END>"]] + [0] * 6])
    g = grounding(captions, np.array([1, 0]), vocab, [[SCENE[1]], SCENE], (4, 4))
    t = g.batch(np.array([0, 1]))
    assert t.shape == (2, 11, 16) and t.dtype == np.float32
    box0, box1 = cell_overlap(SCENE[0].box, (4, 4)), cell_overlap(SCENE[1].box, (4, 4))
    for word in (2, 3):  # caption 0 ("red", "circle") on picture 0, which holds SCENE
        np.testing.assert_allclose(t[0, word], box0, rtol=1e-6)
    np.testing.assert_allclose(t[0, 8], box1, rtol=1e-6)
    assert not t[0, [0, 1, 4, 5, 6, 7, 10]].any()
    assert not t[1].any()  # picture 1 holds only the blue square: "a small red circle" fits nothing there


def test_both_engines_train_the_same_grounded_loss(tmp_path):
    a = train_tiny(tmp_path / "np", dtype="float64", attention_grounding=2.0, **ATT)
    b = train_tiny(tmp_path / "torch", engine="torch", dtype="float64", device="cpu", attention_grounding=2.0,
                   **ATT)
    plain = train_tiny(tmp_path / "plain", dtype="float64", **ATT)
    np.testing.assert_allclose(a.losses, b.losses, rtol=1e-6)
    assert a.losses[0] > plain.losses[0] + 0.1  # same start, plus -log(mass on the boxes) > 0
    assert json.loads((a.run_dir / "config.json").read_text())["config"]["attention_grounding"] == 2.0


@pytest.mark.parametrize("kw", [dict(), dict(cell="transformer", engine="torch", wordvec_dim=8)])
def test_grounding_needs_attention(tmp_path, kw):
    with pytest.raises(SettingError) as e:
        train_tiny(tmp_path / "x", attention_grounding=1.0, **kw)
    assert e.value.setting == "attention_grounding"
    assert nothing_written(tmp_path / "x")


def _coco(tmp_path):
    (tmp_path / "imgs").mkdir()
    images, notes = [], []
    for i in range(12):
        Image.new("RGB", (40, 40), (20 * i, 100, 50)).save(tmp_path / "imgs" / f"{i}.png")
        images.append({"id": i, "file_name": f"{i}.png"})
        notes.append({"id": i, "image_id": i, "caption": f"a picture number {i % 3}"})
    (tmp_path / "c.json").write_text(json.dumps({"images": images, "annotations": notes}))
    return f"coco:{tmp_path}/c.json:{tmp_path}/imgs"


def test_grounding_on_data_without_boxes_is_one_line(cli, tmp_path):
    flags = [_coco(tmp_path) if f == "shapes:40" else f for f in SMALL_FLAGS]
    r = cli("caption", "train", *flags, "--attention", "--feature-layer", "conv", "--feature-grid", "3x3",
            "--attention-grounding", "1", "--out", str(tmp_path / "run"))
    assert_one_line_error(r, "--attention-grounding", "shapes")
    assert nothing_written(tmp_path / "run")


@pytest.mark.parametrize("value", ["-1", "nan", "1e9"])
def test_a_bad_grounding_weight_is_one_line(cli, tmp_path, value):
    r = cli("caption", "train", *SMALL_FLAGS, "--attention", "--attention-grounding", value, "--out",
            str(tmp_path / "run"))
    assert_one_line_error(r, "--attention-grounding")


def test_the_transformer_grounds_the_map_it_draws():
    """Its grounding term is -log(mass on the box) of the last block's cross-attention averaged over heads,
    the weights `vislab caption --attention` draws for it."""
    torch.manual_seed(0)
    words = {"<NULL>": 0, "<START>": 1, "<END>": 2, "red": 3, "circle": 4}
    feats = torch.randn(2, 4 * 3, dtype=torch.float64)
    caps = torch.tensor([[1, 3, 4, 2], [1, 4, 2, 0]])
    targets = np.zeros((2, 3, 4))
    targets[0, 0, :2] = [1.0, 0.5]
    targets[1, 0, 3] = 0.25
    plain = TransformerCaptioner(words, 12, 8, 16, cells=4, dtype=torch.float64, seed=1)
    grounded = TransformerCaptioner(words, 12, 8, 16, cells=4, dtype=torch.float64, seed=1, grounding=0.7)
    _, w = plain.decode(plain.image_tokens(feats), caps[:, :-1])
    alphas = w.mean(dim=1).detach().numpy()
    mass = [alphas[0, 0, 0] + 0.5 * alphas[0, 0, 1], 0.25 * alphas[1, 0, 3]]
    with torch.no_grad():
        extra = float(grounded.loss(feats, caps, targets) - plain.loss(feats, caps))
        assert float(grounded.loss(feats, caps)) == pytest.approx(float(plain.loss(feats, caps)), rel=1e-12)
    assert extra == pytest.approx(-0.7 * np.log(mass).sum() / 2, rel=1e-9)


def test_a_grounded_transformer_trains_and_captions(tmp_path):
    kw = dict(cell="transformer", engine="torch", wordvec_dim=8, dtype="float64", device="cpu", **ATT)
    grounded = train_tiny(tmp_path / "g", attention_grounding=2.0, **kw)
    plain = train_tiny(tmp_path / "p", **kw)
    assert grounded.losses[0] > plain.losses[0] + 0.1  # same start, plus -log(mass on the boxes) > 0
    cap = Captioner.load(grounded.run_dir)  # rebuilt for captioning: plain scores, no grounding
    assert len(cap.caption_features(np.zeros((1, cap.transform.mean.size)))) == 1
