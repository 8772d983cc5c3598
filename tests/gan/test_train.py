"""The training step against a plain autograd reference, exact resume after an interruption, and the CLI."""

import copy
import json

import pytest
import torch

from tests.conftest import assert_one_line_error
from tests.stopping import Stop, stop_at
from vislab.gan import losses
from vislab.gan.models import build_pair, sample_noise
from vislab.gan.train import TrainConfig, gan_step, make_optimizers, prepare_models, train
from vislab.runs import load_checkpoint, read_metrics, save_checkpoint

LOSS_FNS = {"bce": (losses.discriminator_loss, losses.generator_loss),
            "ls": (losses.ls_discriminator_loss, losses.ls_generator_loss),
            "hinge": (losses.hinge_discriminator_loss, losses.hinge_generator_loss),
            "wgan-gp": (losses.wgan_discriminator_loss, losses.wgan_generator_loss)}


def _reference_step(G, D, opt_g, opt_d, real, z, loss, eps):
    """The update written the plain way: separate forwards, gradients by torch.autograd.grad."""
    d_fn, g_fn = LOSS_FNS[loss]
    fake = G(z)
    d_loss = d_fn(D(real), D(fake.detach()))
    if loss == "wgan-gp":
        d_loss = d_loss + 10 * losses.gradient_penalty(D, real, fake.detach(), eps=eps)
    for p, g in zip(D.parameters(), torch.autograd.grad(d_loss, list(D.parameters()))):
        p.grad = g
    opt_d.step()
    g_loss = g_fn(D(fake))  # through the updated discriminator, same fake images
    for p, g in zip(G.parameters(), torch.autograd.grad(g_loss, list(G.parameters()))):
        p.grad = g
    opt_g.step()


@pytest.mark.parametrize("arch,loss", [("mlp", "bce"), ("mlp", "ls"), ("mlp", "wgan-gp"), ("mlp", "hinge"),
                                       ("dcgan", "bce")])
def test_gan_step_equals_the_plain_update(arch, loss):
    # float64, because Adam's first steps divide by |grad| + 1e-8: float32 rounding differences in near-zero
    # gradients would move single weights by up to lr, hiding what this test compares.
    torch.manual_seed(0)
    G, D = (m.double() for m in build_pair(arch, 8))
    G_ref, D_ref = copy.deepcopy(G), copy.deepcopy(D)
    cfg = TrainConfig(arch=arch, loss=loss)
    prepare_models(G, D, arch, torch.device("cpu"))        # channels-last for the DCGAN
    opt_g, opt_d = make_optimizers(G, D, cfg, torch.device("cpu"))  # fused Adam
    ref_g = torch.optim.Adam(G_ref.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), foreach=False)
    ref_d = torch.optim.Adam(D_ref.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), foreach=False)
    gen = torch.Generator().manual_seed(1)
    for _ in range(2):
        real = torch.rand(4, 784, generator=gen, dtype=torch.float64) * 2 - 1
        z = sample_noise(4, 8, generator=gen).double()
        eps = torch.rand(4, 1, generator=gen, dtype=torch.float64)
        gan_step(G, D, opt_g, opt_d, real, z, loss, gp_eps=eps)
        _reference_step(G_ref, D_ref, ref_g, ref_d, real, z, loss, eps)
    # Even in float64 a near-zero gradient (|g| ~ Adam's eps) turns a summation-order rounding difference into a
    # ~1e-10 weight difference (the DCGAN's channels-last convolutions sum in another order). Measured over seeds
    # 0-7 at 1 and 2 threads: at most 1.3e-10 apart (the old atol 1e-10 failed for seed 4), while updating G
    # through the discriminator *before* its step, the classic bug this guards against, moves weights >= 4e-3.
    for (name, a), b in zip(list(G.state_dict().items()) + list(D.state_dict().items()),
                            list(G_ref.state_dict().values()) + list(D_ref.state_dict().values())):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-8, msg=name)
    assert all(p.requires_grad for p in D.parameters())  # the freeze is undone


def _cfg(arch, **kw):
    base = dict(arch=arch, loss="bce", data="digits", batch_size=8, noise_dim=16, max_steps=6,
                checkpoint_every=4, sample_every=100, log_every=2, eval_samples=0, seed=3, device="cpu")
    base.update(kw)
    return TrainConfig(**base)




@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_interrupted_run_resumes_to_bitwise_equal_weights(cli, tmp_path, arch):
    full = train(_cfg(arch, ema=0.9), tmp_path / "full")
    with pytest.raises(Stop):  # dies after step 5; the last checkpoint is from step 4
        train(_cfg(arch, ema=0.9), tmp_path / "cut", progress=stop_at(5))
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.pt", kind="gan")["step"] == 4
    r = cli("gan", "train", "--resume", tmp_path / "cut", "--quiet")
    assert r.rc == 0, r.err
    a = load_checkpoint(full["checkpoint"], kind="gan")
    b = load_checkpoint(tmp_path / "cut" / "checkpoint.pt", kind="gan")
    assert a["step"] == b["step"] == 6
    for key in ("generator", "discriminator", "generator_ema"):
        for name, t in a[key].items():
            assert torch.equal(t, b[key][name]), (key, name)
    # the weight average is its own state (not the raw weights) and was carried through the interruption
    assert not torch.equal(a["generator_ema"]["0.weight"], a["generator"]["0.weight"])
    for key in ("opt_g", "opt_d"):
        for i, st in a[key]["state"].items():
            assert all(torch.equal(st[k], b[key]["state"][i][k]) for k in st), (key, i)
    assert torch.equal(a["noise_rng"], b["noise_rng"])

    def losses_of(run):
        return [(m["step"], m["d_loss"], m["g_loss"]) for m in read_metrics(run) if "d_loss" in m]
    assert losses_of(tmp_path / "full") == losses_of(tmp_path / "cut")
    assert len(losses_of(tmp_path / "full")) == 3


def test_train_writes_the_run_folder_then_sample_and_eval(cli, tmp_path, scorer_cache):
    run = tmp_path / "run"
    r = cli("gan", "train", "--arch", "mlp", "--data", "digits", "--limit", "320", "--batch-size", "32",
            "--epochs", "2", "--noise-dim", "16", "--sample-every", "8", "--eval-samples", "200",
            "--ema", "0.9", "--out", run, "--quiet")
    assert r.rc == 0, r.err
    steps = 2 * (320 // 32)
    cfg = json.loads((run / "config.json").read_text())["config"]
    assert cfg["arch"] == "mlp" and cfg["dataset"] == "digits" and cfg["total_steps"] == steps
    assert (run / "losses.png").is_file() and (run / "samples.png").is_file()
    assert (run / "samples" / "step-000008.png").is_file()
    assert (run / "samples" / f"step-{steps:06d}.png").is_file()
    rows = read_metrics(run)
    scored = [m for m in rows if "mnist_score" in m]
    assert [m["step"] for m in scored] == [steps // 2, steps]  # logged at the end of each epoch
    assert sum(scored[-1]["class_histogram"]) == 200
    assert sum(scored[-1]["raw_class_histogram"]) == 200  # the raw generator is scored too
    assert scored[-1]["raw_mnist_score"] != scored[-1]["mnist_score"]
    assert [m["step"] for m in rows if "d_loss" in m] == [10, 20]

    from PIL import Image

    out = tmp_path / "grid.png"
    r = cli("gan", "sample", "--checkpoint", run, "-n", "16", "-o", out, "--out", tmp_path / "s")
    assert r.rc == 0, r.err
    assert Image.open(out).size == (4 * 30 + 2, 4 * 30 + 2)  # 4x4 tiles of 28 px with 2 px padding

    r = cli("gan", "eval", "--checkpoint", run / "checkpoint.pt", "-n", "300", "--json",
            "--out", tmp_path / "e")
    assert r.rc == 0, r.err
    scores = json.loads(r.out)
    assert scores["dataset"] == "digits" and scores["n"] == 300 and sum(scores["class_histogram"]) == 300
    assert 1.0 <= scores["mnist_score"] <= 10.0 and scores["frechet_distance"] > 0
    assert json.loads((tmp_path / "e" / "eval.json").read_text()) == scores
    # eval scores the weight average by default, --raw the trained generator: check both against the weights
    from vislab.gan.evaluate import evaluate_generator, load_scorer

    state = load_checkpoint(run / "checkpoint.pt", kind="gan")
    r = cli("gan", "eval", "--checkpoint", run, "-n", "300", "--json", "--raw", "--out", tmp_path / "e2")
    assert r.rc == 0, r.err
    raw_scores = json.loads(r.out)
    assert (scores["generator"], raw_scores["generator"]) == ("ema", "raw")
    for key, result in (("generator_ema", scores), ("generator", raw_scores)):
        G, _ = build_pair("mlp", 16)
        G.load_state_dict(state[key])
        ref = evaluate_generator(G, 16, load_scorer("digits"), n=300, seed=0)
        assert result["mnist_score"] == pytest.approx(ref["mnist_score"], rel=1e-6), key


def test_cli_errors_are_one_line(cli, tmp_path):
    r = cli("gan", "sample", "--checkpoint", tmp_path / "nope.pt", "--out", tmp_path / "o")
    assert_one_line_error(r, "nope.pt", "no such checkpoint")
    other = tmp_path / "other.pt"
    save_checkpoint({"model": {}}, other, kind="captioning")
    r = cli("gan", "eval", "--checkpoint", other, "--out", tmp_path / "o")
    assert_one_line_error(r, "other.pt", "'captioning' checkpoint", "'gan'")

    run = tmp_path / "run"
    assert train(_cfg("mlp", max_steps=2), run)["steps"] == 2
    r = cli("gan", "train", "--resume", run, "--arch", "dcgan", "--quiet")
    assert_one_line_error(r, "--arch mlp", "not dcgan")
    # a checkpoint whose weights belong to another architecture than its config says
    state = load_checkpoint(run / "checkpoint.pt", kind="gan")
    state["config"]["arch"] = "dcgan"
    save_checkpoint({k: v for k, v in state.items() if not k.startswith("vislab_")}, tmp_path / "liar.pt",
                    kind="gan")
    r = cli("gan", "sample", "--checkpoint", tmp_path / "liar.pt", "--out", tmp_path / "o")
    assert_one_line_error(r, "liar.pt", "do not fit the settings arch dcgan")  # the checkpoint's, not flags
    assert not (tmp_path / "o" / "samples.png").exists()

    r = cli("gan", "train", "--data", "digits", "--batch-size", "5000", "--out", tmp_path / "big", "--quiet")
    assert_one_line_error(r, "--batch-size 5000", "1497 training images")
    r = cli("gan", "train", "--arch", "vae")
    assert_one_line_error(r, "--arch", "vae")
    r = cli("gan", "train", "--data", "digits", "--ema", "1", "--out", tmp_path / "ema", "--quiet")
    assert_one_line_error(r, "--ema", "[0, 1)", "got 1")
    assert not (tmp_path / "ema").exists()


def test_tensorboard_without_the_package_is_a_clear_error(cli, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # makes the import fail
    r = cli("gan", "train", "--data", "digits", "--tensorboard", "--out", tmp_path / "tb", "--quiet")
    assert_one_line_error(r, "--tensorboard", "pip install")
    assert not (tmp_path / "tb").exists()
