"""The shapes stand-in for the course's COCO data (`vislab.cs231n.coco_utils.shapes_data`): features centred
like the course's PCA'd ones, so the captioning notebooks' overfit cells meet their stated goals on it with the
notebooks' own solver settings (RNN "final loss < 0.1", LSTM "< 0.5")."""

import numpy as np
import pytest

from vislab.captioning.data import load_data
from vislab.cs231n.captioning_solver import CaptioningSolver
from vislab.cs231n.classifiers.rnn import CaptioningRNN
from vislab.cs231n.coco_utils import shapes_data


def test_features_are_centred_on_the_train_mean():
    d = shapes_data(n_images=100)
    raw = load_data("shapes:100", max_length=16, progress=False)
    train, val = raw.features[raw.splits["train"]], raw.features[raw.splits["val"]]
    mean = train.astype(np.float64).mean(axis=0)
    assert np.abs(mean).max() > 1.0  # vislab's raw features are far from centred ...
    assert np.abs(d["train_features"].mean(axis=0)).max() < 1e-4  # ... the stand-in's are
    np.testing.assert_allclose(d["train_features"], train - mean, atol=1e-5)
    np.testing.assert_allclose(d["val_features"], val - mean, atol=1e-5)  # val shifted by the *train* mean


def _overfit(cell_type: str, lr_decay: float) -> float:
    """The notebook's overfit cell, with shapes_data in place of load_coco_data (default 1000 pictures)."""
    np.random.seed(231)
    small_data = shapes_data(max_train=50)
    model = CaptioningRNN(cell_type=cell_type, word_to_idx=small_data["word_to_idx"],
                          input_dim=small_data["train_features"].shape[1], hidden_dim=512, wordvec_dim=256,
                          dtype=np.float32)
    solver = CaptioningSolver(model, small_data, update_rule="adam", num_epochs=50, batch_size=25,
                              optim_config={"learning_rate": 5e-3}, lr_decay=lr_decay, verbose=False)
    solver.train()
    assert len(solver.loss_history) == 100
    return solver.loss_history[-1]


def test_rnn_overfit_cell_meets_the_notebooks_goal():
    # ~4 s (the first run also computes the 1000 pictures' features once, ~30 s, then cached)
    assert _overfit("rnn", 0.95) < 0.1


@pytest.mark.slow
def test_lstm_overfit_cell_meets_the_notebooks_goal():
    assert _overfit("lstm", 0.995) < 0.5
