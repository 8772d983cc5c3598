"""Feature-visualization objectives: values against closed forms on a tiny conv net, the algebra, the diversity
term against a direct loop, parity with lucent's objectives, the dream job's objective settings, and a channel
of EfficientNet-Lite0 driven above every course sample's activation."""

from __future__ import annotations

import importlib
import itertools
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vislab import backbones
from vislab.errors import ConfigError
from vislab.images import load_image
from vislab.jobs import SettingError
from vislab.visualize import create_class_visualization, dream_job
from vislab.visualize.class_viz import create_visualization
from vislab.visualize.objectives import (
    LOGITS,
    capture,
    channel,
    class_logit,
    deepdream,
    diversity,
    layer,
    neuron,
    parse_unit,
)
from vislab.visualize.settings import DreamSettings


class TinyConv(nn.Module):
    """conv1 -> tanh (act) -> conv2 (stride 2) -> mean -> fc: named layers whose activations a test recomputes
    with plain torch functions."""

    def __init__(self) -> None:
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(0)
            self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
            self.act = nn.Tanh()
            self.conv2 = nn.Conv2d(4, 5, 3, stride=2)
            self.fc = nn.Linear(5, 7)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv2(self.act(self.conv1(x))).mean(dim=(2, 3)))

    def by_hand(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        c1 = F.conv2d(x, self.conv1.weight, self.conv1.bias, padding=1)
        c2 = F.conv2d(torch.tanh(c1), self.conv2.weight, self.conv2.bias, stride=2)
        return {"conv1": c1, "act": torch.tanh(c1), "conv2": c2,
                LOGITS: c2.mean(dim=(2, 3)) @ self.fc.weight.T + self.fc.bias}


@pytest.fixture
def net() -> TinyConv:
    return TinyConv().eval().requires_grad_(False)


def _images(n: int = 3, side: int = 12) -> torch.Tensor:
    return torch.rand((n, 3, side, side), generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def test_capture_is_one_forward_and_matches_the_layers_by_hand(net):
    x = _images().float()
    ref = net.by_hand(x)
    calls = []
    net.conv1.register_forward_hook(lambda *_: calls.append(1))
    acts = capture(net, x, ["conv2", "conv1", LOGITS])
    assert len(calls) == 1 and set(acts) == {"conv1", "conv2", LOGITS}
    for k in acts:
        torch.testing.assert_close(acts[k], ref[k])
    with pytest.raises(ConfigError, match="'nope'.*layers are: conv1, act, conv2, fc"):
        capture(net, x, ["nope"])


def test_objectives_are_their_closed_forms(net):
    x = _images().float()
    ref, acts = net.by_hand(x), capture(net, x, ["conv1", "act", "conv2", LOGITS])
    torch.testing.assert_close(channel("conv1", 2)(acts), ref["conv1"][:, 2].mean())
    torch.testing.assert_close(channel("conv2", 4)(acts), ref["conv2"][:, 4].sum() / (3 * 5 * 5))
    # 12x12 -> conv2 gives 5x5: the centre is (2, 2); conv1 is 12x12, even: lucent's lower-right (6, 6).
    torch.testing.assert_close(neuron("conv2", 1)(acts), ref["conv2"][:, 1, 2, 2].mean())
    torch.testing.assert_close(neuron("act", 3)(acts), ref["act"][:, 3, 6, 6].mean())
    torch.testing.assert_close(neuron("act", 3, x=1, y=7)(acts), ref["act"][:, 3, 7, 1].mean())
    torch.testing.assert_close(layer("act")(acts), (ref["act"] ** 2).mean())
    assert deepdream is layer
    torch.testing.assert_close(class_logit(5)(acts), ref[LOGITS][:, 5].mean())


def test_sums_and_weights(net):
    acts = capture(net, _images().float(), ["conv1", "act", "conv2"])
    a, b, c = channel("conv1", 0), neuron("conv2", 3), layer("act")
    va, vb, vc = (float(o(acts)) for o in (a, b, c))
    obj = 2 * a - b + c / 4 + (-a) * 0.5
    assert float(obj(acts)) == pytest.approx(2 * va - vb + vc / 4 - 0.5 * va, rel=1e-6)
    assert obj.layers == ("conv1", "conv2", "act")
    assert float(sum([a, b, c])(acts)) == pytest.approx(va + vb + vc, rel=1e-6)
    assert float((a * 3)(acts)) == pytest.approx(3 * va, rel=1e-6)
    assert obj.name.startswith("2 * conv1:0 - neuron conv2:3")
    with pytest.raises(TypeError):
        a * "x"
    with pytest.raises(TypeError):
        a + 1


def _diversity_by_loop(act: np.ndarray) -> float:
    n = len(act)
    grams = [f @ f.T for f in act.reshape(n, act.shape[1], -1)]
    grams = [g / np.linalg.norm(g) for g in grams]
    return -sum(float((grams[i] * grams[j]).sum()) for i, j in itertools.permutations(range(n), 2)) / n


def test_diversity_is_minus_the_gram_cosine_similarities(net):
    acts = capture(net, _images(4).float(), ["conv2"])
    a = acts["conv2"].double().numpy()
    assert float(diversity("conv2")(acts)) == pytest.approx(_diversity_by_loop(a), rel=1e-5)
    # A view-major batch of 2 images x 2 views: the images are compared within each view, then averaged.
    assert float(diversity("conv2")(acts, 2)) == pytest.approx(
        (_diversity_by_loop(a[:2]) + _diversity_by_loop(a[2:])) / 2, rel=1e-5)
    same = {"conv2": acts["conv2"][:1].expand(3, -1, -1, -1)}
    assert float(diversity("conv2")(same)) == pytest.approx(-2.0, rel=1e-6)  # identical: cos = 1 for all pairs
    assert float(diversity("conv2")(acts, 1)) == 0.0


def _lucent_objectives():
    try:  # lucent.optvis.objectives needs only torch, numpy and `decorator` (no torchvision)
        return importlib.import_module("lucent.optvis.objectives")
    except ImportError as e:
        pytest.skip(f"torch-lucent does not import here: {e}")


@pytest.mark.parametrize("side", [12, 13])
def test_parity_with_lucent(net, side):
    lo = _lucent_objectives()
    acts = capture(net, _images(3, side).float(), ["conv1", "act", "conv2"])
    T = acts.__getitem__  # lucent's objectives read layers through a function of the name
    pairs = [(channel("conv1", 1), lo.channel("conv1", 1)), (neuron("act", 2), lo.neuron("act", 2)),
             (neuron("conv2", 0, x=1, y=2), lo.neuron("conv2", 0, x=1, y=2))]
    # (lucent 0.1.8 has no deepdream objective; `layer` is checked against lucid's closed form above.)
    for ours, theirs in pairs:  # lucent's are losses: minus ours
        torch.testing.assert_close(ours(acts), -theirs(T), rtol=1e-6, atol=1e-7)
    # lucent's diversity already returns minus the similarity; its usage: channel - w * diversity, a loss.
    torch.testing.assert_close(diversity("conv2")(acts), lo.diversity("conv2")(T), rtol=1e-6, atol=1e-7)
    ours = channel("conv2", 3) + 10 * diversity("conv2") - 0.5 * neuron("conv1", 2)
    theirs = lo.channel("conv2", 3) - 10 * lo.diversity("conv2") - 0.5 * lo.neuron("conv1", 2)
    torch.testing.assert_close(ours(acts), -theirs(T), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("param", ["pixel", "fourier"])
def test_optimization_raises_any_objective(net, param):
    obj = channel("conv2", 1) + 0.1 * neuron("act", 0)
    gray = float(obj(capture(net, torch.full((1, 3, 32, 32), 0.5), obj.layers)))
    rows = []
    viz = create_visualization(obj, net, param, size=32, steps=15, seed=0, on_step=lambda t, r: rows.append(r))
    assert viz.images.shape == (1, 3, 32, 32) and viz.value > gray + 0.04
    assert rows[-1]["objective"] > rows[0]["objective"]
    again = create_visualization(obj, net, param, size=32, steps=15, seed=0)
    assert torch.equal(viz.images, again.images)


def test_diversity_spreads_a_batch(net):
    def similarity(weight: float) -> float:
        obj = channel("conv2", 1) + weight * diversity("conv2")
        v = create_visualization(obj, net, "fourier", size=32, steps=12, seed=3, batch=3, views=1)
        assert v.images.shape == (3, 3, 32, 32)
        return -float(diversity("conv2")(capture(net, v.images, ["conv2"])))

    assert similarity(20.0) < similarity(0.0)


def test_class_objective_is_the_class_visualization(net):
    a = create_class_visualization(4, net, "pixel", size=32, steps=4, seed=1)
    b = create_visualization(class_logit(4), net, "pixel", size=32, steps=4, seed=1)
    assert torch.equal(a.image, b.images[0])


def test_parse_unit():
    assert parse_unit("block5:17", "channel") == ("block5", 17, None, None)
    assert parse_unit("features.3:2:4,5", "neuron", position=True) == ("features.3", 2, 4, 5)
    for bad in ("block5", "block5:x", ":3", "block5:-1", "block5:1:2"):
        with pytest.raises(ValueError, match="LAYER:INDEX"):
            parse_unit(bad, "channel")


@pytest.mark.parametrize("values, setting, fragment", [
    ({}, "class_", "required unless"),
    ({"class_": "cat", "channel": "block5:1"}, "channel", "cannot be combined with class_"),
    ({"channel": "block5"}, "channel", "LAYER:INDEX"),
    ({"neuron": "block5:1:a,b"}, "neuron", "whole numbers"),
    ({"deepdream": " "}, "deepdream", "layer name"),
    ({"channel": "block5:1", "diversity": 2.0}, "diversity", "batch >= 2"),
    ({"class_": 3, "batch": 2, "diversity": 2.0}, "diversity", "channel, neuron or deepdream"),
    ({"channel": "block5:1", "batch": 0}, "batch", "from 1 to 64"),
])
def test_dream_settings_refuse(values, setting, fragment):
    with pytest.raises(SettingError, match=fragment) as e:
        DreamSettings(**values).validate()
    assert e.value.setting == setting


def test_dream_job_channel_run_and_layer_errors(tmp_path):
    model = "tests.visualize.tiny_classifier:build"
    with pytest.raises(SettingError, match="layer 'block5'.*layers: conv, fc") as e:
        dream_job.run(DreamSettings(model=model, channel="block5:1", size=32, steps=1), tmp_path / "a")
    assert e.value.setting == "channel" and not (tmp_path / "a").exists()
    with pytest.raises(SettingError, match="channels 0..7"):
        dream_job.run(DreamSettings(model=model, channel="conv:8", size=32, steps=1), tmp_path / "a")
    s = DreamSettings(model=model, channel="conv:3", batch=2, diversity=1.0, size=32, steps=3, param="pixel")
    res = dream_job.run(s, tmp_path / "b")
    assert res.status == "ok" and set(res.files) == {"image", "figure", "image_0", "image_1"}
    assert all(p.exists() for p in res.files.values())
    cfg = json.loads((tmp_path / "b" / "config.json").read_text())
    assert cfg["config"]["channel"] == "conv:3" and "conv:3" in res.target_name
    rows = [json.loads(r) for r in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["final"] and rows[-1]["objective"] == pytest.approx(res.numbers["objective"])


def test_cli_channel(cli, tmp_path):
    r = cli("dream", "--model", "tests.visualize.tiny_classifier:build", "--deepdream", "conv", "--size", "32",
            "--steps", "2", "--out", str(tmp_path / "d"))
    assert r.rc == 0 and "deepdream conv = " in r.out
    r = cli("dream", "--model", "tests.visualize.tiny_classifier:build", "--neuron", "conv:1:50,0", "--size", "32",
            "--steps", "2", "--out", str(tmp_path / "e"))
    assert r.rc == 2 and "--neuron position 50,0 is outside conv's" in r.err


def test_optimized_channel_beats_every_course_sample(shared_data):
    """block5:17 of EfficientNet-Lite0: a 10-step Fourier optimization at 64 px drives the channel's mean
    activation above its mean activation on each of the 25 course ImageNet samples (224 px)."""
    bb = backbones.load("efficientnet_lite0")
    files = sorted((shared_data / "imagenet_samples" / "images").glob("*.png"))
    assert len(files) == 25
    obj = channel("block5", 17)
    with torch.no_grad():
        samples = torch.stack([obj(capture(bb, bb.prepare(load_image(f)), obj.layers)) for f in files])
        gray = obj(capture(bb, torch.full((1, 3, 64, 64), 0.5), obj.layers))
    assert gray < samples.max()  # a plain image does not already beat them
    viz = create_visualization(obj, bb, "fourier", size=64, steps=10, seed=0)
    assert viz.value > float(samples.max()), (viz.value, samples.tolist())


def test_capture_on_a_backbone_is_its_features_and_logits(bb):
    x = torch.rand((2, 3, 64, 64), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        acts = capture(bb, x, ["block5", LOGITS, "stem"])
        torch.testing.assert_close(acts[LOGITS], bb.logits(x), rtol=0, atol=0)
        ref = bb.features(x, ["stem", "block5"])
    assert set(acts) == {"stem", "block5", LOGITS} and all(torch.equal(acts[k], ref[k]) for k in ref)
