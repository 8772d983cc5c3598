"""Weight averaging (`--ema`): the running average against its closed form, the checkpoint's weights are the
average (the trained ones kept for resuming), both engines agree, and an interrupted run resumes exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import assert_one_line_error
from tests.stopping import stop_after_save
from vislab.captioning import checkpoint as ckpt
from vislab.captioning.averaging import WeightAverage
from vislab.captioning.engines import NumpyEngine
from vislab.captioning.train import train
from vislab.errors import CheckpointError

from .test_train import _cfg, shapes40  # noqa: F401 (a fixture)
from .tiny_runs import SMALL_FLAGS, nothing_written

WORDS = {"<NULL>": 0, "<START>": 1, "<END>": 2, "red": 3, "circle": 4}


def _closed_form(steps: list[np.ndarray], d: float) -> np.ndarray:
    """d^(n-1) w_1 + sum_{k>=2} (1 - d) d^(n-k) w_k: the average starts at the first step's weights."""
    n = len(steps)
    return d ** (n - 1) * steps[0] + sum((1 - d) * d ** (n - k) * w for k, w in enumerate(steps[1:], 2))


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_the_running_average_is_its_closed_form(kind):
    rng = np.random.default_rng(0)
    steps = [rng.standard_normal((3, 2)) for _ in range(5)]
    avg = WeightAverage(0.7)
    for w in steps:
        avg.update({"w": torch.tensor(w, requires_grad=True) if kind == "torch" else w.copy()})
    got = avg.values["w"]
    np.testing.assert_allclose(got.numpy() if kind == "torch" else got, _closed_form(steps, 0.7), rtol=1e-12)
    assert not getattr(got, "requires_grad", False)


def test_the_engine_validates_and_checkpoints_the_average():
    rng = np.random.default_rng(1)
    eng = NumpyEngine(WORDS, 6, 4, 5, "lstm", "float64", seed=0, average=0.8)
    feats, caps = rng.standard_normal((4, 6)), np.array([[1, 3, 4, 2]] * 4)
    trained = []
    for _ in range(4):
        eng.train_step(feats, caps, 1e-2, 4)
        trained.append({k: v.copy() for k, v in eng.model.params.items()})
    state = eng.state()
    for k in trained[0]:
        expected = _closed_form([t[k] for t in trained], 0.8)
        np.testing.assert_allclose(eng.numpy_params()[k], expected, rtol=1e-10)
        np.testing.assert_allclose(state["params"][k].numpy(), expected, rtol=1e-10)
        np.testing.assert_array_equal(state["train_params"][k].numpy(), trained[-1][k])
    averaged = dict(eng.model.params)
    eng.model.params = {k: v.copy() for k, v in eng.numpy_params().items()}
    by_hand = eng.model.loss(feats, caps)[0]
    eng.model.params = averaged
    assert eng.eval_loss(feats, caps) == pytest.approx(by_hand, rel=1e-12)  # validation sees the average
    np.testing.assert_array_equal(eng.model.params["Wx"], trained[-1]["Wx"])  # and leaves the trained weights be

    plain = NumpyEngine(WORDS, 6, 4, 5, "lstm", "float64", seed=0)
    plain.load_state(state)  # a plain engine reads the average as its weights
    np.testing.assert_array_equal(plain.model.params["Wx"], state["params"]["Wx"].numpy())
    with pytest.raises(CheckpointError, match="train_params"):  # an averaging engine needs the trained ones
        NumpyEngine(WORDS, 6, 4, 5, "lstm", "float64", seed=0, average=0.8).load_state(plain.state())


def test_both_engines_average_alike(tmp_path, shapes40):  # noqa: F811
    a = train(shapes40, _cfg(dtype="float64", ema=0.9), tmp_path / "np", progress=False)
    b = train(shapes40, _cfg(dtype="float64", ema=0.9, engine="torch", device="cpu"), tmp_path / "t",
              progress=False)
    np.testing.assert_allclose(a.losses, b.losses, rtol=1e-6)
    for k, v in a.params.items():
        np.testing.assert_allclose(b.params[k], v, rtol=1e-5, atol=1e-8)
    state = ckpt.read(tmp_path / "np")
    assert not np.array_equal(state["params"]["Wx"].numpy(), state["train_params"]["Wx"].numpy())
    np.testing.assert_array_equal(ckpt.Captioner.from_state(state).model.params["Wx"], a.params["Wx"])


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_an_averaged_run_resumes_exactly(tmp_path, shapes40, engine):  # noqa: F811
    cfg = _cfg(engine=engine, ema=0.9, **({"device": "cpu"} if engine == "torch" else {}))
    full = train(shapes40, cfg, tmp_path / "full", progress=False)
    with pytest.raises(KeyboardInterrupt):
        train(shapes40, cfg, tmp_path / "cut", on_step=stop_after_save(8), progress=False)
    resumed = train(shapes40, cfg, tmp_path / "cut", resume=ckpt.read(tmp_path / "cut"), progress=False)
    for k, v in full.params.items():
        assert np.array_equal(v, resumed.params[k]), k  # the average too, bitwise on a CPU
    for key in ("params", "train_params"):
        a, b = ckpt.read(tmp_path / "full")[key], ckpt.read(tmp_path / "cut")[key]
        assert all(torch.equal(a[k], b[k]) for k in a), key


@pytest.mark.parametrize("value", ["1", "-0.1", "nan", "x"])
def test_a_bad_decay_is_one_line(cli, tmp_path, value):
    r = cli("caption", "train", *SMALL_FLAGS, "--ema", value, "--out", str(tmp_path / "run"))
    assert_one_line_error(r, "--ema")
    assert nothing_written(tmp_path / "run")
