"""Every course name this slice provides imports from its course module path."""

import importlib

import pytest

NAMES = {
    "vislab.cs231n.rnn_layers": [
        "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
        "word_embedding_forward", "word_embedding_backward",
        "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss",
        "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
        "affine_forward", "affine_backward", "sigmoid"],
    "vislab.cs231n.gradient_check": ["eval_numerical_gradient", "eval_numerical_gradient_array", "rel_error"],
    "vislab.cs231n.optim": ["sgd", "sgd_momentum", "rmsprop", "adam"],
    "vislab.cs231n.classifiers.rnn": ["CaptioningRNN"],
    "vislab.cs231n": ["rel_error"],
}


@pytest.mark.parametrize("module", sorted(NAMES))
def test_names_import_and_star_import(module):
    mod = importlib.import_module(module)
    for name in NAMES[module]:
        assert callable(getattr(mod, name)), name
    ns: dict = {}
    exec(f"from {module} import *", ns)  # what a notebook does
    missing = [n for n in NAMES[module] if n not in ns]
    assert not missing
