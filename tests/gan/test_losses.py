"""GAN losses against torch's BCE-with-logits and the closed forms."""

import math

import pytest
import torch
import torch.nn.functional as F

from vislab.gan import (
    bce_loss,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    hinge_discriminator_loss,
    ls_discriminator_loss,
    ls_generator_loss,
    wgan_discriminator_loss,
    wgan_generator_loss,
)


@pytest.fixture
def logits():
    g = torch.Generator().manual_seed(0)
    return torch.randn(64, 1, generator=g) * 3, torch.randn(64, 1, generator=g) * 3


def test_bce_losses_match_binary_cross_entropy_with_logits(logits):
    real, fake = logits
    ones, zeros = torch.ones_like(real), torch.zeros_like(fake)
    want_d = F.binary_cross_entropy_with_logits(real, ones) + F.binary_cross_entropy_with_logits(fake, zeros)
    torch.testing.assert_close(discriminator_loss(real, fake), want_d)
    torch.testing.assert_close(generator_loss(fake), F.binary_cross_entropy_with_logits(fake, ones))


def test_bce_is_stable_for_huge_logits_and_has_the_right_gradient():
    s = torch.tensor([-1000.0, -30.0, 0.0, 30.0, 1000.0], dtype=torch.float64, requires_grad=True)
    loss = bce_loss(s, 1.0)
    assert torch.isfinite(loss)
    # -log(sigmoid(s)) = softplus(-s), computed here in closed form
    assert float(loss.detach()) == pytest.approx(sum(math.log1p(math.exp(-v)) if v > -50 else -v for v in
                                            [-1000.0, -30.0, 0.0, 30.0, 1000.0]) / 5)
    loss.backward()
    torch.testing.assert_close(s.grad, (torch.sigmoid(s.detach()) - 1) / 5)


def test_least_squares_losses_closed_form(logits):
    real, fake = logits
    want_d = 0.5 * sum((float(r) - 1) ** 2 for r in real) / 64 + 0.5 * sum(float(f) ** 2 for f in fake) / 64
    assert float(ls_discriminator_loss(real, fake)) == pytest.approx(want_d, rel=1e-5)
    assert float(ls_generator_loss(fake)) == pytest.approx(0.5 * sum((float(f) - 1) ** 2 for f in fake) / 64,
                                                            rel=1e-5)
    # optimum: D outputs 1 on real and 0 on fake -> 0; G fools D (scores 1) -> 0
    assert float(ls_discriminator_loss(torch.ones(3, 1), torch.zeros(3, 1))) == 0
    assert float(ls_generator_loss(torch.ones(3, 1))) == 0


def test_wgan_and_hinge_closed_forms():
    real, fake = torch.tensor([[2.0], [0.5]]), torch.tensor([[-2.0], [0.0]])
    assert float(wgan_discriminator_loss(real, fake)) == pytest.approx(-1.0 - 1.25)
    assert float(wgan_generator_loss(fake)) == pytest.approx(1.0)
    # relu(1 - [2, .5]) = [0, .5]; relu(1 + [-2, 0]) = [0, 1]
    assert float(hinge_discriminator_loss(real, fake)) == pytest.approx(0.25 + 0.5)


def test_gradient_penalty_of_a_linear_critic_is_closed_form():
    # D(x) = w.x has gradient w everywhere, so the penalty is (||w|| - 1)^2 whatever the interpolation points.
    critic = torch.nn.Linear(784, 1)
    with torch.no_grad():
        critic.weight.normal_()
    w_norm = float(critic.weight.detach().norm())
    real, fake = torch.randn(8, 784), torch.randn(8, 784)
    gp = gradient_penalty(critic, real, fake)
    assert float(gp.detach()) == pytest.approx((w_norm - 1) ** 2, rel=1e-5)
    gp.backward()  # differentiable w.r.t. the critic: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    torch.testing.assert_close(critic.weight.grad, 2 * (w_norm - 1) * critic.weight.detach() / w_norm,
                               rtol=1e-4, atol=1e-6)
