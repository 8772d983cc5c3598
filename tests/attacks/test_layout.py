"""The attacks feed vislab's own CNNs their input in channels-last layout on the CPU (faster oneDNN convolutions,
bench/attacks.py): the same logits and input gradients as the plain forward to float rounding, checked here
against the Backbone's own `logits` and torch autograd; a user's module gets its input as given (a ``.view`` in
its forward would refuse channels-last)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vislab import backbones
from vislab.attacks import fgsm, pgd
from vislab.attacks.base import logits_and_grad, logits_fn


@pytest.fixture(scope="module")
def lite0():
    try:
        return backbones.load("efficientnet_lite0")
    except Exception as e:  # noqa: BLE001 - the weights package is a dependency; say so if it is missing
        pytest.skip(f"efficientnet_lite0 unavailable: {e}")


def test_a_builtin_cnn_gets_channels_last_with_the_same_logits_and_gradient(lite0):
    seen = []
    hook = lite0.model._conv_stem.register_forward_pre_hook(
        lambda m, args: seen.append(args[0].is_contiguous(memory_format=torch.channels_last)))
    try:
        x = torch.rand((2, 3, 64, 64), generator=torch.Generator().manual_seed(0))
        y = torch.tensor([1, 2])
        logits, g = logits_and_grad(logits_fn(lite0), x, y, False)
    finally:
        hook.remove()
    assert seen == [True]
    xr = x.clone().requires_grad_(True)
    ref = lite0.logits(xr)
    (gr,) = torch.autograd.grad(nn.functional.cross_entropy(ref, y), xr)
    torch.testing.assert_close(logits, ref.detach(), atol=1e-4, rtol=1e-4)
    assert float((g - gr).norm() / gr.norm()) < 1e-4  # float rounding of another summation order
    big = gr.abs() > 1e-3 * gr.abs().max()
    assert torch.equal(g[big].sign(), gr[big].sign())  # what FGSM / PGD steps along
    adv = fgsm(lite0, x, y, eps=2 / 255)
    assert adv.is_contiguous() and (adv - x).abs().max() <= 2 / 255 + 1e-7


class ViewNet(nn.Module):
    """A user's model that flattens with ``.view``, which a channels-last tensor refuses."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2)
        self.fc = nn.Linear(4 * 7 * 7, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.conv(x))
        return self.fc(h.view(len(h), -1))


def test_a_user_module_gets_its_input_as_given():
    from vislab.backbones.backbone import Backbone

    torch.manual_seed(0)
    bb = Backbone("mine:build", ViewNet(), None, None, tuple(str(i) for i in range(10)), (0.5,) * 3, (0.5,) * 3,
                  input_size=16)
    with pytest.raises(RuntimeError):  # what channels-last would do to it
        bb.logits(torch.rand(2, 3, 16, 16).contiguous(memory_format=torch.channels_last))
    x = torch.rand((2, 3, 16, 16), generator=torch.Generator().manual_seed(1))
    assert logits_fn(bb) == bb.logits
    adv = pgd(bb, x, torch.tensor([0, 1]), eps=4 / 255, steps=2, random_init=False)
    assert (adv - x).abs().max() <= 4 / 255 + 1e-7 and (adv != x).any()
