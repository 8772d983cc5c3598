"""vislab.nn.optim: each update rule follows torch.optim's step for step (float64, constant learning rate)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vislab.nn import optim
from vislab.nn.gradcheck import rel_error

CASES = [
    (optim.sgd, {"learning_rate": 0.1}, lambda p: torch.optim.SGD(p, lr=0.1)),
    (optim.sgd_momentum, {"learning_rate": 0.1, "momentum": 0.8},
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8)),
    (optim.rmsprop, {"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-8},
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8)),
    (optim.adam, {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-8},
     lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-8)),
]


@pytest.mark.parametrize("rule,config,make_torch", CASES, ids=[c[0].__name__ for c in CASES])
def test_rule_matches_torch_over_steps(rule, config, make_torch):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3))
    tw = torch.tensor(w, requires_grad=True)
    opt = make_torch([tw])
    config = dict(config)
    for _ in range(6):
        dw = rng.standard_normal(w.shape)  # any gradient sequence: the rules only see dw
        w, config = rule(w, dw, config)
        tw.grad = torch.from_numpy(dw.copy())
        opt.step()
        assert rel_error(w, tw.detach().numpy()) < 1e-9


def test_defaults_and_state_are_kept_in_config():
    w, dw = np.ones(3), np.full(3, 0.5)
    w1, config = optim.adam(w, dw)
    assert config["t"] == 1 and config["learning_rate"] == 1e-3
    # Adam's first step moves every coordinate by learning_rate (m_hat / sqrt(v_hat) = sign(dw))
    np.testing.assert_allclose(w1, w - 1e-3, rtol=1e-6)
    _, config = optim.sgd_momentum(w, dw)
    np.testing.assert_allclose(config["velocity"], -1e-2 * dw)


def test_rules_keep_float32():
    w, dw = np.ones(3, np.float32), np.full(3, 0.5, np.float32)
    for rule in (optim.sgd, optim.sgd_momentum, optim.rmsprop, optim.adam):
        assert rule(w, dw, None)[0].dtype == np.float32, rule.__name__
