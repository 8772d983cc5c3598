"""The generator's weight average against torch's own averaging bookkeeping (torch.optim.swa_utils)."""

import pytest
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from vislab.gan.ema import ema_decay, make_ema, update_ema


def test_decay_ramps_up_to_the_given_value():
    assert ema_decay(0.999, 0) == pytest.approx(0.1)        # the first update keeps 10% of the initial weights
    assert ema_decay(0.999, 90) == pytest.approx(91 / 100)
    assert ema_decay(0.9, 80) == pytest.approx(0.9) and ema_decay(0.9, 10**6) == 0.9
    assert ema_decay(0.999, 2339) == pytest.approx(2340 / 2349)  # still ramping after 5 MNIST epochs


def test_average_matches_torch_averaged_model_for_weights_and_statistics():
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.Linear(5, 2))
    ema = make_ema(G)
    # AveragedModel's first update copies the weights (our starting point); its n-th later update gets
    # num_averaged = n, i.e. it follows our step t = n - 1.
    ref = AveragedModel(G, avg_fn=lambda avg, p, n: avg + (1 - min(0.9, int(n) / (9 + int(n)))) * (p - avg),
                        use_buffers=True)
    ref.update_parameters(G)
    assert not any(p.requires_grad for p in ema.parameters())
    for t in range(120):  # past the ramp: (1 + t) / (10 + t) reaches 0.9 at t = 80
        with torch.no_grad():
            for p in G.parameters():
                p.add_(torch.randn_like(p))
        G(torch.randn(8, 3))  # train mode: moves the BatchNorm running statistics
        update_ema(ema, G, ema_decay(0.9, t))
        ref.update_parameters(G)
    for (name, a), b in zip(ema.named_parameters(), ref.module.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
        assert not torch.allclose(a, dict(G.named_parameters())[name])  # an average, not a copy
    for (name, a), b, g in zip(ema.named_buffers(), ref.module.buffers(), G.buffers()):
        if a.is_floating_point():  # BatchNorm's running mean and variance: averaged like the weights
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
            assert not torch.allclose(a, g), name
        else:  # the batch counter is copied
            assert torch.equal(a, g), name
