"""GAN training: one generator forward per step, fixed-noise grids, checkpoints, exact resume, multi-process.

The step (`gan_step`) differs from the course's loop in how it spends compute, not in what it optimizes: the
course samples fresh noise for the generator update and so runs the generator twice per iteration; here one
fake batch serves both updates (as pytorch/examples' DCGAN does), the discriminator sees real and fake images
in one batched forward, and the discriminator's weights are frozen while the generator's gradient flows
through it.

With `--ema DECAY` the loop also keeps an exponential moving average of the generator's weights (`ema.py`);
that average draws the sample grids and is what `gan sample` / `gan eval` use, and each epoch's scores are
logged for both it and the raw generator.

Everything a run depends on is in the checkpoint: both networks, both optimizers, the weight average, the
noise generator's state, the global RNG states and the step. The data order is a function of (seed, epoch), so
the step alone says where in the data a resumed run continues; a resumed run therefore ends with exactly the
weights of an uninterrupted one (CPU, same thread count).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from .. import runs
from ..devices import resolve_device, rng_state, seed_everything, set_rng_state
from ..distributed import DistInfo
from ..distributed import setup as setup_distributed
from ..distributed import teardown as teardown_distributed
from ..errors import CheckpointError, ConfigError
from ..images import make_grid, save_image
from . import distributed
from .data import Digits, load_dataset, to_gan_input
from .ema import ema_decay, make_ema, update_ema
from .losses import LOSSES, gradient_penalty
from .models import ARCHS, build_pair, sample_noise

CHECKPOINT = "checkpoint.pt"
GRID_SIZE = 64


@dataclass
class TrainConfig:
    arch: str = "dcgan"
    loss: str = "bce"
    epochs: int = 5
    batch_size: int = 128          # global batch: split across processes under torchrun
    lr: float = 1e-3
    beta1: float = 0.5
    beta2: float = 0.999
    ema: float = 0.0               # decay of the generator's weight average (0: none); see ema.py
    noise_dim: int = 96
    seed: int = 0
    spectral_norm: bool = False
    data: str = "auto"             # auto | mnist | digits | DIR
    limit: int | None = None       # use only the first N training images
    max_steps: int | None = None   # stop after this many steps in total
    sample_every: int = 250
    checkpoint_every: int = 250
    log_every: int = 10
    eval_samples: int = 5000       # samples scored at the end of each epoch; 0 turns scoring off
    device: str = "auto"
    tensorboard: bool = False

    def check(self) -> None:
        if self.arch not in ARCHS:
            raise ConfigError(f"--arch {self.arch!r}: choose one of {', '.join(ARCHS)}")
        if self.loss not in LOSSES:
            raise ConfigError(f"--loss {self.loss!r}: choose one of {', '.join(LOSSES)}")
        for name in ("epochs", "batch_size", "noise_dim", "sample_every", "checkpoint_every", "log_every"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if not 0 <= self.ema < 1:
            raise ConfigError(f"--ema {self.ema}: the decay must be in [0, 1) (0 turns the average off)")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def gan_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
             real: torch.Tensor, z: torch.Tensor, loss: str = "bce", *, gp_eps: torch.Tensor | None = None,
             sync: Callable[[nn.Module], None] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One discriminator update then one generator update, sharing a single generator forward.

    `sync(module)` runs between backward and the optimizer step (gradient averaging across processes).
    Returns the two losses (detached).
    """
    d_loss_fn, g_loss_fn, gp_weight = LOSSES[loss]
    n = real.shape[0]
    fake = G(z)

    # Discriminator: real and (detached) fake images in one forward pass.
    scores = D(torch.cat([real, fake.detach()]))
    d_loss = d_loss_fn(scores[:n], scores[n:])
    if gp_weight:
        d_loss = d_loss + gp_weight * gradient_penalty(D, real, fake.detach(), eps=gp_eps)
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    if sync is not None:
        sync(D)
    opt_d.step()

    # Generator: through the updated discriminator, reusing `fake`. D's weights need no gradient here.
    D.requires_grad_(False)
    try:
        g_loss = g_loss_fn(D(fake))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
    finally:
        D.requires_grad_(True)
    if sync is not None:
        sync(G)
    opt_g.step()
    return d_loss.detach(), g_loss.detach()


def make_optimizers(G: nn.Module, D: nn.Module, cfg: TrainConfig,
                    device: torch.device) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    # The fused Adam kernel does the whole update in one pass over memory: same arithmetic, far fewer passes.
    kw = {"fused": True} if device.type in ("cpu", "cuda") else {}
    betas = (cfg.beta1, cfg.beta2)
    return (torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=betas, **kw),
            torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=betas, **kw))


def prepare_models(G: nn.Module, D: nn.Module, arch: str, device: torch.device) -> None:
    """Move to `device`; conv nets use channels-last memory, which oneDNN/cuDNN convolve and pool faster."""
    G.to(device)
    D.to(device)
    if arch == "dcgan":
        G.to(memory_format=torch.channels_last)
        D.to(memory_format=torch.channels_last)


def epoch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The shuffled image order of `epoch`: a pure function of (seed, epoch), the same in every process."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


def build_models(cfg: TrainConfig) -> tuple[nn.Module, nn.Module]:
    return build_pair(cfg.arch, cfg.noise_dim, spectral_norm=cfg.spectral_norm)


def load_generator(checkpoint: str | Path, device: torch.device | str = "cpu", *,
                   raw: bool = False) -> tuple[nn.Module, TrainConfig, dict]:
    """The generator of a `vislab gan train` checkpoint (eval mode) with its config and the raw state.

    That is the weight average when the run kept one (`--ema`), unless `raw`; `state["sampled_from"]` says
    which ("ema" or "raw")."""
    state = runs.load_checkpoint(checkpoint, kind="gan")
    try:
        cfg = TrainConfig.from_dict(state["config"])
        cfg.check()
    except (KeyError, TypeError) as e:
        raise CheckpointError(f"{checkpoint}: GAN checkpoint without a usable config ({e})") from e
    G, _ = build_models(cfg)
    key = "generator_ema" if not raw and state.get("generator_ema") is not None else "generator"
    _load_state(G, state, key, checkpoint, cfg)
    state["sampled_from"] = "ema" if key == "generator_ema" else "raw"
    G.to(device).eval()
    return G, cfg, state


def _load_state(module: nn.Module, state: dict, key: str, path: str | Path, cfg: TrainConfig) -> None:
    try:
        module.load_state_dict(state[key])
    except (KeyError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: the {key} weights do not fit --arch {cfg.arch} --noise-dim "
                              f"{cfg.noise_dim} ({first})") from e


def resolve_checkpoint(path: str | Path) -> Path:
    """A run folder means its checkpoint.pt."""
    p = Path(path)
    return p / CHECKPOINT if p.is_dir() else p


def train(cfg: TrainConfig, run_dir: str | Path | None = None, *, resume: str | Path | None = None,
          progress: bool = True, log: Callable[[str], None] | None = None,
          on_step: Callable[[int], None] | None = None, overwrite: bool = False) -> dict[str, Any]:
    """Train a GAN into `run_dir` (checkpoint.pt, samples/, samples.png, losses.png, config, metrics).

    `resume` is a checkpoint (or run folder) to continue from; `cfg` must then agree with its architecture,
    loss and noise size. `on_step(step)` is called after every completed step (tests use it to interrupt a
    run). Returns a summary dict (final losses, scores, paths).
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    cfg.check()
    if cfg.tensorboard:
        _tensorboard(None)  # fail before any output if the optional package is missing
    state = None
    if resume is not None:
        ckpt = resolve_checkpoint(resume)
        state = runs.load_checkpoint(ckpt, kind="gan")
        _check_resumable(cfg, state, ckpt)
        if run_dir is None:
            run_dir = ckpt.parent

    device = resolve_device(cfg.device)
    # Long timeout: the main process alone trains the MNIST scorer and scores each epoch while the others
    # wait in the next all-reduce.
    info = setup_distributed(device, timeout_s=1800.0)
    device = info.device
    try:
        return _train(cfg, run_dir, state, info, device, progress, log, on_step, overwrite)
    finally:
        teardown_distributed(info)


def _check_resumable(cfg: TrainConfig, state: dict, path: Path) -> None:
    saved = state.get("config", {})
    for key in ("arch", "loss", "noise_dim", "spectral_norm", "batch_size", "seed"):
        if key in saved and saved[key] != getattr(cfg, key):
            flag = "--" + key.replace("_", "-")
            raise ConfigError(f"--resume {path}: the checkpoint was trained with {flag} {saved[key]}, "
                              f"not {getattr(cfg, key)} (leave {flag} out to continue it)")


def _train(cfg: TrainConfig, run_dir: str | Path | None, state: dict | None, info: DistInfo,
           device: torch.device, progress: bool, log: Callable[[str], None],
           on_step: Callable[[int], None] | None, overwrite: bool = False) -> dict[str, Any]:
    data = load_dataset(cfg.data, "train", log=log if info.is_main else None)
    images = data.images[: cfg.limit] if cfg.limit else data.images
    if len(images) < cfg.batch_size:
        raise ConfigError(f"--batch-size {cfg.batch_size} is larger than the {len(images)} training images")
    rows = distributed.shard(cfg.batch_size, info)
    steps_per_epoch = len(images) // cfg.batch_size  # the last partial batch is dropped, as in the course
    total = cfg.epochs * steps_per_epoch
    if cfg.max_steps:
        total = min(total, cfg.max_steps)

    seed_everything(cfg.seed)
    G, D = build_models(cfg)
    prepare_models(G, D, cfg.arch, device)
    opt_g, opt_d = make_optimizers(G, D, cfg, device)
    noise = torch.Generator().manual_seed(cfg.seed + 1)  # training noise, identical in every process
    fixed_z = sample_noise(GRID_SIZE, cfg.noise_dim, generator=torch.Generator().manual_seed(cfg.seed + 2))
    step = 0
    if state is not None:
        ckpt_name = "the checkpoint"
        _load_state(G, state, "generator", ckpt_name, cfg)
        _load_state(D, state, "discriminator", ckpt_name, cfg)
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        noise.set_state(state["noise_rng"])
        set_rng_state(state["rng"])
        step = int(state["step"])
    # Only the main process keeps the average: it is the one that samples, scores and saves.
    G_ema = make_ema(G) if cfg.ema and info.is_main else None
    if G_ema is not None and state is not None and state.get("generator_ema") is not None:
        _load_state(G_ema, state, "generator_ema", "the checkpoint", cfg)
    sampler = G_ema if G_ema is not None else G  # draws the grids; scored as the run's generator

    run: Path | None = None
    metrics = writer = None
    if info.is_main:
        run = runs.make_run_dir(run_dir, "gan-train", resume=state is not None, overwrite=overwrite)
        runs.write_config(run, resume=state is not None, config={**asdict(cfg), "dataset": data.name, "data_source": data.source,
                                "train_images": len(images), "steps_per_epoch": steps_per_epoch,
                                "total_steps": total, "processes": info.world_size, "device": str(device)})
        metrics = runs.MetricsLog(run, resume_step=step if state is not None else None)
        writer = _tensorboard(run) if cfg.tensorboard else None
    scorer = _maybe_scorer(cfg, data, device, progress, log) if info.is_main else None

    def sync(m: nn.Module) -> None:
        distributed.average_gradients(m, info)

    def save() -> None:
        if not info.is_main:
            return
        runs.save_checkpoint({
            "config": asdict(cfg), "dataset": data.name, "step": step,
            "generator": G.state_dict(), "discriminator": D.state_dict(),
            "generator_ema": G_ema.state_dict() if G_ema is not None else None,
            "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
            "noise_rng": noise.get_state(), "rng": rng_state(),
        }, run / CHECKPOINT, kind="gan")

    x_all = images.to(device)
    summary: dict[str, Any] = {"run_dir": str(run) if run else None, "steps": total}
    d_loss = g_loss = torch.zeros(())
    t0, step0 = time.perf_counter(), step
    order = None
    with tqdm(total=total, initial=step, desc=f"gan {cfg.arch}/{cfg.loss}", unit="it",
              disable=not (progress and info.is_main), dynamic_ncols=True) as bar:
        while step < total:
            epoch, b = divmod(step, steps_per_epoch)
            if order is None or b == 0:
                order = epoch_order(cfg.seed, epoch, len(images))
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size][rows]
            real = to_gan_input(x_all[idx.to(device)])
            z = sample_noise(cfg.batch_size, cfg.noise_dim, generator=noise)[rows].to(device)
            eps = None
            if cfg.loss == "wgan-gp":  # interpolation weights for the gradient penalty, from the same stream
                eps = torch.rand(cfg.batch_size, 1, generator=noise)[rows].to(device)
            d_loss, g_loss = gan_step(G, D, opt_g, opt_d, real, z, cfg.loss, gp_eps=eps, sync=sync)
            distributed.average_buffers(G, info)
            if G_ema is not None:
                update_ema(G_ema, G, ema_decay(cfg.ema, step))
            step += 1
            bar.update()
            end_of_epoch = step % steps_per_epoch == 0 or step == total
            log_now = step % cfg.log_every == 0 or step == total
            if log_now:  # the global-batch losses: each process's batch-mean loss, averaged over processes
                d_loss, g_loss = distributed.average_scalars(info, d_loss, g_loss)
            if info.is_main:
                if log_now:
                    d, g = float(d_loss), float(g_loss)
                    if not (math.isfinite(d) and math.isfinite(g)):
                        raise ConfigError(f"training diverged at step {step} (d_loss={d}, g_loss={g}); "
                                          "try a lower --lr")
                    rate = (step - step0) / max(time.perf_counter() - t0, 1e-9)
                    metrics.log(step, epoch=epoch, d_loss=d, g_loss=g, it_per_s=round(rate, 3))
                    _tb_scalars(writer, step, d_loss=d, g_loss=g)
                    bar.set_postfix(d=f"{d:.3f}", g=f"{g:.3f}")
                if step % cfg.sample_every == 0 and step < total:
                    _save_grid(sampler, fixed_z, device, run, step, writer)
                if end_of_epoch and scorer is not None:
                    scores = _score(sampler, cfg, scorer, device)
                    if G_ema is not None:  # the raw generator too, to show what the average adds
                        scores.update({f"raw_{k}": v for k, v in _score(G, cfg, scorer, device).items()})
                    metrics.log(step, epoch=epoch, **scores)
                    _tb_scalars(writer, step, **{k: v for k, v in scores.items()
                                                 if k.endswith(("mnist_score", "frechet_distance"))})
                    summary.update(scores)
                    raw = f" (raw generator {scores['raw_mnist_score']:.2f})" if G_ema is not None else ""
                    bar.write(f"epoch {epoch + 1}: MNIST score {scores['mnist_score']:.2f}{raw}, Fréchet "
                              f"distance {scores['frechet_distance']:.2f}, modes {scores['modes']}/10",
                              file=sys.stderr)
                if (step % cfg.checkpoint_every == 0 or end_of_epoch) and step < total:
                    save()
            if on_step is not None:
                on_step(step)

    if info.is_main:
        save()
        _save_grid(sampler, fixed_z, device, run, step, writer)
        plot_losses(run)
        if writer is not None:
            writer.close()
    summary.update(d_loss=float(d_loss), g_loss=float(g_loss),
                   checkpoint=str(run / CHECKPOINT) if run else None,
                   seconds=round(time.perf_counter() - t0, 2))
    return summary


def _maybe_scorer(cfg: TrainConfig, data: Digits, device: torch.device, progress: bool, log):
    if not cfg.eval_samples:
        return None
    from .evaluate import load_scorer

    return load_scorer(data.name, data=cfg.data if data.name == "mnist" else "digits", device=device,
                       progress=progress, log=log)


def _score(G: nn.Module, cfg: TrainConfig, scorer, device: torch.device) -> dict[str, Any]:
    from .evaluate import evaluate_generator

    s = evaluate_generator(G, cfg.noise_dim, scorer, n=cfg.eval_samples, seed=cfg.seed, device=device)
    return {"mnist_score": round(s["mnist_score"], 4), "frechet_distance": round(s["frechet_distance"], 4),
            "modes": s["modes"], "class_histogram": s["class_histogram"]}


@torch.no_grad()
def sample_grid(G: nn.Module, z: torch.Tensor, device: torch.device | str = "cpu",
                nrow: int | None = None) -> torch.Tensor:
    """Images of G(z) tiled into one (3, H, W) grid in [0, 1] (BatchNorm in eval mode; G's mode restored)."""
    was = G.training
    G.eval()
    x = G(z.to(device)).float().cpu()
    G.train(was)
    x = ((x + 1) / 2).clamp(0, 1).view(-1, 1, 28, 28)
    return make_grid(x, nrow=nrow or math.ceil(math.sqrt(x.shape[0])))


def _save_grid(G, z, device, run: Path, step: int, writer) -> None:
    grid = sample_grid(G, z, device)
    save_image(grid, run / "samples" / f"step-{step:06d}.png")
    save_image(grid, run / "samples.png")
    if writer is not None:
        writer.add_image("samples", grid, step)


def plot_losses(run: str | Path) -> Path | None:
    """losses.png: discriminator and generator loss against step, from metrics.jsonl."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..fileio import atomic_path

    rows = [r for r in runs.read_metrics(run) if "d_loss" in r]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    steps = [r["step"] for r in rows]
    ax.plot(steps, [r["d_loss"] for r in rows], label="discriminator", lw=1)
    ax.plot(steps, [r["g_loss"] for r in rows], label="generator", lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    path = Path(run) / "losses.png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def _tensorboard(run: Path | None):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        raise ConfigError("--tensorboard needs the tensorboard package: "
                          "pip install 'vislab[tensorboard]'") from e
    return None if run is None else SummaryWriter(log_dir=str(run / "tensorboard"))


def _tb_scalars(writer, step: int, **values: float) -> None:
    if writer is not None:
        for k, v in values.items():
            writer.add_scalar(k, v, step)
