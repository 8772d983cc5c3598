"""The GANs-PyTorch notebook's check cells (gan-checks-tf.npz, parameter counts, sample_noise) against
vislab.cs231n.gan_pytorch. The notebook runs the loss checks on float32 tensors and asks for errors below 1e-7."""

import io
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch

from vislab.cs231n.gan_pytorch import (
    ChunkSampler,
    Flatten,
    Unflatten,
    bce_loss,
    build_dc_classifier,
    build_dc_generator,
    count_params,
    deprocess_img,
    discriminator,
    discriminator_loss,
    generator,
    generator_loss,
    get_optimizer,
    initialize_weights,
    ls_discriminator_loss,
    ls_generator_loss,
    preprocess_img,
    rel_error,
    run_a_gan,
    sample_noise,
)

NAMES = ["sample_noise", "Flatten", "Unflatten", "initialize_weights", "discriminator", "generator",
         "bce_loss", "discriminator_loss", "generator_loss", "get_optimizer", "run_a_gan",
         "ls_discriminator_loss", "ls_generator_loss", "build_dc_classifier", "build_dc_generator",
         "preprocess_img", "deprocess_img", "count_params", "rel_error", "show_images", "ChunkSampler"]


@pytest.fixture
def answers(shared_data):
    path = shared_data / "cs231n_checks" / "gan-checks-tf.npz"
    if not path.exists():
        pytest.skip(f"{path} not available")
    return dict(np.load(path))


def _f32(a):
    return torch.tensor(a, dtype=torch.float32)


def test_every_name_imports_and_star_imports():
    import vislab.cs231n.gan_pytorch as mod

    for name in NAMES:
        assert callable(getattr(mod, name)), name
    ns: dict = {}
    exec("from vislab.cs231n.gan_pytorch import *", ns)
    assert not [n for n in NAMES if n not in ns]


def test_sample_noise():
    torch.manual_seed(231)
    z = sample_noise(3, 4)
    assert torch.is_tensor(z) and z.size() == (3, 4)
    assert torch.all(z >= -1.0) and torch.all(z <= 1.0)
    assert torch.any(z < 0.0) and torch.any(z > 0.0)
    assert torch.equal(sample_noise(3, 4, seed=5), sample_noise(3, 4, seed=5))


def test_parameter_counts_match_the_notebook():
    assert count_params(discriminator()) == 267009
    assert count_params(generator(4)) == 1858320       # the notebook's test_generator uses noise_dim=4
    assert count_params(build_dc_classifier(128)) == 1102721
    assert count_params(build_dc_generator(4)) == 6580801
    n = count_params(discriminator())
    assert isinstance(n, np.int64) and n == sum(p.numel() for p in discriminator().parameters())  # the course's type


def test_discriminator_and_generator_losses(answers):
    d_loss = discriminator_loss(_f32(answers["logits_real"]), _f32(answers["logits_fake"])).numpy()
    assert rel_error(answers["d_loss_true"], d_loss) < 1e-7
    g_loss = generator_loss(_f32(answers["logits_fake"])).numpy()
    assert rel_error(answers["g_loss_true"], g_loss) < 1e-7


def test_lsgan_losses(answers):
    d_loss = ls_discriminator_loss(_f32(answers["logits_real"]), _f32(answers["logits_fake"])).numpy()
    g_loss = ls_generator_loss(_f32(answers["logits_fake"])).numpy()
    assert rel_error(answers["d_loss_lsgan_true"], d_loss) < 1e-7
    assert rel_error(answers["g_loss_lsgan_true"], g_loss) < 1e-7


def test_bce_loss_with_a_target_tensor_matches_torch():
    s = torch.linspace(-30, 30, 11, dtype=torch.float64)
    y = (torch.arange(11) % 2).to(torch.float64)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(s, y)
    assert torch.allclose(bce_loss(s, y), ref, rtol=1e-12, atol=0)


def test_shapes_flatten_unflatten_and_pixel_maps():
    torch.manual_seed(0)
    x = torch.rand(5, 1, 28, 28)
    assert Flatten()(x).shape == (5, 784)
    assert Unflatten(-1, 1, 28, 28)(Flatten()(x)).shape == (5, 1, 28, 28)
    assert Unflatten()(torch.zeros(2, 128 * 49)).shape == (2, 128, 7, 7)
    assert discriminator()(x).shape == (5, 1)
    assert build_dc_classifier(128)(x).shape == (5, 1)   # any batch size, unlike the course's
    out = generator(96)(sample_noise(5, 96))
    assert out.shape == (5, 784) and out.abs().max() <= 1
    assert build_dc_generator(96).eval()(sample_noise(5, 96)).shape == (5, 784)
    assert torch.equal(deprocess_img(preprocess_img(x)), x)
    assert preprocess_img(0.0) == -1.0 and deprocess_img(1.0) == 1.0


def test_initialize_weights_is_xavier_uniform_on_linear_and_conv_transpose():
    torch.manual_seed(0)
    g = build_dc_generator(96)
    bias_before = g[0].bias.detach().clone()
    g.apply(initialize_weights)
    for m in g.modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.ConvTranspose2d)):
            fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(m.weight)
            bound = (6.0 / (fan_in + fan_out)) ** 0.5
            assert m.weight.abs().max() <= bound
            assert m.weight.abs().max() > 0.9 * bound
    assert torch.equal(g[0].bias, bias_before)


def test_get_optimizer_is_the_course_adam():
    opt = get_optimizer(discriminator())
    assert isinstance(opt, torch.optim.Adam)
    group = opt.param_groups[0]
    assert group["lr"] == 1e-3 and tuple(group["betas"]) == (0.5, 0.999)


def test_run_a_gan_trains_prints_and_skips_partial_batches():
    torch.manual_seed(0)
    images = torch.rand(10, 1, 28, 28)
    loader = [(images[i:i + 4], torch.zeros(len(images[i:i + 4]))) for i in range(0, 10, 4)]  # 4, 4, 2
    D, G = discriminator(), generator(8)
    D_solver, G_solver = get_optimizer(D), get_optimizer(G)
    d0 = [p.detach().clone() for p in D.parameters()]
    g0 = [p.detach().clone() for p in G.parameters()]
    buf = io.StringIO()
    with redirect_stdout(buf):
        images = run_a_gan(D, G, D_solver, G_solver, discriminator_loss, generator_loss, loader,
                           show_every=1, batch_size=4, noise_size=8, num_epochs=2)
    assert [h[0] for h in images.losses] == [0, 1, 2, 3]   # the 2-image batch is skipped each epoch
    assert len(images) == 4 and all(isinstance(a, np.ndarray) and a.shape == (4, 784) for a in images)
    assert np.abs(images[-1]).max() <= 1
    lines = [ln for ln in buf.getvalue().splitlines() if ln]
    assert lines[0].startswith("Iter: 0, D: ") and ", G:" in lines[0] and len(lines) == 4
    d0_, g0_ = images.losses[0][1:]
    assert lines[0] == f"Iter: 0, D: {d0_:.4}, G:{g0_:.4}"
    assert all(np.isfinite(h[1]) and np.isfinite(h[2]) for h in images.losses)
    assert "\n" not in repr(images) and repr(images).startswith("<GanSamples: 4 batches")
    assert any(not torch.equal(a, b) for a, b in zip(d0, D.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(g0, G.parameters()))


def test_show_images_grid_and_no_figures_outside_a_notebook(monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vislab.cs231n import gan_pytorch
    from vislab.cs231n.gan_pytorch import show_images

    fig = show_images(np.random.default_rng(0).random((16, 784)))
    assert len(fig.axes) == 16
    plt.close(fig)
    before = plt.get_fignums()
    loader = [(torch.rand(2, 1, 28, 28), torch.zeros(2))]
    D, G = discriminator(), generator(8)
    with redirect_stdout(io.StringIO()):
        run_a_gan(D, G, get_optimizer(D), get_optimizer(G), discriminator_loss, generator_loss, loader,
                  show_every=1, batch_size=2, noise_size=8, num_epochs=1)
    assert plt.get_fignums() == before   # Agg is not a notebook backend: nothing drawn
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    monkeypatch.setattr(gan_pytorch, "_notebook_pyplot", lambda: plt)
    with redirect_stdout(io.StringIO()):
        run_a_gan(D, G, get_optimizer(D), get_optimizer(G), discriminator_loss, generator_loss, loader,
                  show_every=1, batch_size=2, noise_size=8, num_epochs=1)
    assert len(shown) == 1 and len(shown[0].axes) == 2   # one panel per sample (2x2 grid)
    plt.close("all")


def test_notebook_shape_cells():
    # b = build_dc_classifier(batch_size); out = b(data) on an MNIST batch -> (128, 1)
    torch.manual_seed(0)
    assert build_dc_classifier(128)(torch.rand(128, 1, 28, 28)).shape == (128, 1)
    # test_g_gan = build_dc_generator(); apply(initialize_weights); forward(randn(batch_size, NOISE_DIM))
    test_g_gan = build_dc_generator()
    test_g_gan.apply(initialize_weights)
    assert test_g_gan.forward(torch.randn(128, 96)).size() == (128, 784)
    assert build_dc_classifier(128).double()(torch.rand(3, 784, dtype=torch.float64)).dtype == torch.float64


def test_chunk_sampler_and_a_float64_gan():
    s = ChunkSampler(5, 3)
    assert list(s) == [3, 4, 5, 6, 7] and len(s) == 5
    torch.manual_seed(0)
    D, G = discriminator().double(), generator(8).double()
    loader = [(torch.rand(2, 1, 28, 28), torch.zeros(2))]
    with redirect_stdout(io.StringIO()):
        images = run_a_gan(D, G, get_optimizer(D), get_optimizer(G), ls_discriminator_loss, ls_generator_loss,
                           loader, batch_size=2, noise_size=8, num_epochs=1)
    assert len(images) == 1 and images[0].dtype == np.float64
