"""TorchCaptioningRNN: the same model as the numpy CaptioningRNN, checked against it in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vislab.captioning import CaptioningRNN
from vislab.captioning.model import PARAM_NAMES
from vislab.captioning.torch_model import TorchCaptioningRNN
from vislab.errors import ConfigError
from vislab.nn.gradcheck import rel_error

WORDS = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "cat", "dog", "sits", "on", "mat"]
W2I = {w: i for i, w in enumerate(WORDS)}
NULL, START, END = 0, 1, 2
CELLS = ["rnn", "lstm", "gru"]


def numpy_model(cell, seed=0, scale=0.7):
    m = CaptioningRNN(W2I, input_dim=5, wordvec_dim=6, hidden_dim=7, cell_type=cell, dtype=np.float64,
                      seed=seed)
    rng = np.random.default_rng(seed + 10)
    m.params = {k: rng.standard_normal(v.shape) * scale for k, v in m.params.items()}
    return m


def batch(seed=0):
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((4, 5))
    captions = np.array([[START, 4, 5, 7, 8, 4, 9, END],
                         [START, 6, 7, END, NULL, NULL, NULL, NULL],
                         [START, 3, END, NULL, NULL, NULL, NULL, NULL],
                         [START, 4, 6, 6, 6, 7, 8, 9]])  # no <END>: cut at the maximum length
    return features, captions


@pytest.mark.parametrize("cell", CELLS)
def test_loss_and_gradients_equal_numpy(cell):
    m = numpy_model(cell)
    twin = TorchCaptioningRNN.from_numpy(m, dtype=torch.float64)
    features, captions = batch()
    loss, grads = m.loss(features, captions)
    t_loss = twin.loss(features, captions)
    assert t_loss.ndim == 0
    t_loss.backward()
    assert rel_error(loss, t_loss.item()) < 1e-9
    # forward gives the teacher-forced scores the loss is built on (what a DDP wrapper calls)
    scores = twin(torch.from_numpy(features), torch.from_numpy(captions[:, :-1]))
    assert scores.shape == (4, 7, len(WORDS))
    targets = torch.from_numpy(captions[:, 1:])
    mask = targets != NULL
    ce = torch.nn.functional.cross_entropy(scores[mask], targets[mask], reduction="sum")
    assert rel_error(ce.item() / 4, loss) < 1e-12
    for name in PARAM_NAMES:
        assert rel_error(grads[name], getattr(twin, name).grad.numpy()) < 1e-9, name


@pytest.mark.parametrize("cell", CELLS)
def test_same_names_shapes_and_initial_weights_as_numpy(cell):
    m = CaptioningRNN(W2I, input_dim=5, wordvec_dim=6, hidden_dim=7, cell_type=cell, seed=3)
    twin = TorchCaptioningRNN(W2I, input_dim=5, wordvec_dim=6, hidden_dim=7, cell_type=cell, seed=3)
    assert [n for n, _ in twin.named_parameters()] == list(PARAM_NAMES)
    for name in PARAM_NAMES:
        p = getattr(twin, name)
        assert p.dtype == torch.float32 and tuple(p.shape) == m.params[name].shape
        np.testing.assert_array_equal(p.detach().numpy(), m.params[name])


def test_numpy_params_round_trip():
    m = numpy_model("lstm")
    twin = TorchCaptioningRNN(W2I, input_dim=5, wordvec_dim=6, hidden_dim=7, cell_type="lstm",
                              dtype=torch.float64).from_numpy_params(m.params)
    back = twin.to_numpy_params()
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(back[name], m.params[name])
    back["Wx"][0, 0] += 1  # copies, not views into the module
    assert twin.Wx[0, 0].item() == m.params["Wx"][0, 0]
    again = twin.to_numpy()
    assert again.cell_type == "lstm" and again.params["Wx"].dtype == np.float64
    features, captions = batch()
    assert again.loss(features, captions)[0] == pytest.approx(m.loss(features, captions)[0], rel=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_greedy_sample_equals_numpy(cell):
    m = numpy_model(cell, scale=1.0)
    twin = TorchCaptioningRNN.from_numpy(m, dtype=torch.float64)
    features = np.random.default_rng(1).standard_normal((6, 5)) * 2
    ours = m.sample(features, max_length=9)
    theirs = twin.sample(torch.from_numpy(features), max_length=9)
    assert theirs.dtype == torch.long
    np.testing.assert_array_equal(theirs.numpy(), ours)
    np.testing.assert_array_equal(twin.beam_search(features, beam_size=2, max_length=9),
                                  m.beam_search(features, beam_size=2, max_length=9))


def test_float32_twin_agrees_with_float32_numpy():
    m = numpy_model("gru")
    m32 = CaptioningRNN(W2I, input_dim=5, wordvec_dim=6, hidden_dim=7, cell_type="gru")
    m32.params = {k: v.astype(np.float32) for k, v in m.params.items()}
    twin = TorchCaptioningRNN.from_numpy(m32)
    features, captions = batch()
    t_loss = twin.loss(torch.from_numpy(features), torch.from_numpy(captions))
    assert t_loss.dtype == torch.float32
    assert t_loss.item() == pytest.approx(m32.loss(features, captions)[0], rel=1e-5)


def test_bad_inputs_raise_config_errors():
    twin = TorchCaptioningRNN(W2I, input_dim=5, wordvec_dim=6, hidden_dim=7, cell_type="rnn", seed=0)
    params = twin.to_numpy_params()
    with pytest.raises(ConfigError, match=r"Wh has shape \(7, 8\)"):
        twin.from_numpy_params({**params, "Wh": np.zeros((7, 8))})
    with pytest.raises(ConfigError, match="missing: b_vocab"):
        twin.from_numpy_params({k: v for k, v in params.items() if k != "b_vocab"})
    with pytest.raises(ConfigError, match=r"features must be \(N, 5\)"):
        twin.loss(np.zeros((2, 3)), np.array([[START, END], [START, END]]))
    with pytest.raises(ConfigError, match="outside the vocabulary"):
        twin.loss(np.zeros((1, 5)), np.array([[START, 99]]))
