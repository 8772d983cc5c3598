"""Honest numbers for generated digits: an MNIST classifier shipped with vislab, and scores on its outputs.

The MNIST scorer's weights ship in ``vislab/assets/`` (written by ``quality/train_mnist_scorer.py``, which trains
with `train_classifier` and `SCORER_SEED`); only when that file is missing or unreadable is the scorer trained on
first use and cached under ``VISLAB_CACHE`` (as the digits scorer always is).

- **MNIST score**: the Inception score with this classifier in place of Inception, ``exp(E_x KL(p(y|x) ||
  p(y)))``. 1 when every sample gets the same prediction (or predictions are uniform), 10 when samples are
  confidently classified and the ten classes are equally frequent. The score rewards confidence, so it is only
  comparable between runs scored by the same classifier: the shipped one (99.29% test accuracy) gives the real
  MNIST test digits 9.84, printed by `vislab gan eval` and `quality/gan.py` next to every score.
- **Fréchet distance** between Gaussians fitted to the classifier's penultimate features (the 128 ReLU outputs
  of its hidden fully connected layer) of the samples and of the test set: FID with this network in place of
  Inception. 0 for identical statistics; lower is better.
- **Class histogram**: how often each digit is predicted; a missing digit means mode collapse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CheckpointError
from ..jobs import Progress, StopCheck
from ..paths import cache_dir
from ..progress import ProgressArg, as_progress
from ..runs import load_checkpoint, save_checkpoint
from .data import Digits, load_dataset, to_gan_input
from .models import IMAGE_SIZE, Unflatten

SCORER_VERSION = 2  # v2 trains 6 epochs, not 3: real test digits 9.84 instead of 9.73
SCORER_SEED = 0     # the seed the cached and the shipped scorers are trained with
FEATURE_DIM = 128
IMAGE_PIXELS = IMAGE_SIZE * IMAGE_SIZE


class DigitClassifier(nn.Module):
    """conv 32 3x3, relu, pool, conv 64 3x3, relu, pool, fc 128, relu, fc 10; input (N, 784) in [-1, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            Unflatten(1, 28, 28),
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # 28 -> 14
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 14 -> 7
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, FEATURE_DIM), nn.ReLU(),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(FEATURE_DIM, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate (N, 128) activations the Fréchet distance is computed on."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.body(x)))


@dataclass
class Scorer:
    """The trained classifier plus the reference statistics of the real test set."""

    model: DigitClassifier
    dataset: str
    test_accuracy: float
    test_score: float
    mu: np.ndarray      # (128,) mean test-set feature
    sigma: np.ndarray   # (128, 128) test-set feature covariance

    @torch.no_grad()
    def outputs(self, x: torch.Tensor, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
        """Softmax probabilities (N, 10) and features (N, 128) for flattened images in [-1, 1], float64."""
        self.model.eval()
        dev = next(self.model.parameters()).device
        probs, feats = [], []
        for i in range(0, x.shape[0], batch_size):
            f = self.model.features(x[i:i + batch_size].to(dev, torch.float32))
            probs.append(F.softmax(self.model.head(f), dim=1).double().cpu())
            feats.append(f.double().cpu())
        return torch.cat(probs).numpy(), torch.cat(feats).numpy()


def mnist_score(probs: np.ndarray, eps: float = 1e-12) -> float:
    """exp(mean_x KL(p(y|x) || p(y))) with p(y) the mean prediction: the Inception score on one split."""
    p = np.asarray(probs, dtype=np.float64)
    py = p.mean(axis=0, keepdims=True)
    kl = (p * (np.log(p + eps) - np.log(py + eps))).sum(axis=1)
    return float(math.exp(kl.mean()))


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of (N, D) features."""
    f = np.asarray(features, dtype=np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) between two Gaussians.

    Tr((S1 S2)^(1/2)) is computed as the sum of square roots of the eigenvalues of S1^(1/2) S2 S1^(1/2), a
    symmetric PSD matrix similar to S1 S2; unlike a general `sqrtm` this never produces complex round-off.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = root1 @ s2 @ root1
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_covmean, 0.0))


def class_histogram(probs: np.ndarray) -> list[int]:
    """How many samples the classifier assigns to each digit 0-9."""
    return np.bincount(np.asarray(probs).argmax(axis=1), minlength=10).tolist()


def score_images(scorer: Scorer, x: torch.Tensor) -> dict:
    """All three measures for flattened images (N, 784) in [-1, 1] (at least 2: the Fréchet distance needs a
    covariance)."""
    if x.shape[0] < 2:
        raise ValueError(f"scoring needs at least 2 samples, got {x.shape[0]}")
    probs, feats = scorer.outputs(x)
    mu, sigma = gaussian_stats(feats)
    hist = class_histogram(probs)
    return {
        "mnist_score": mnist_score(probs),
        "frechet_distance": frechet_distance(mu, sigma, scorer.mu, scorer.sigma),
        "class_histogram": hist,
        "modes": int(sum(h > 0 for h in hist)),
        "n": int(x.shape[0]),
    }


@torch.no_grad()
def generate(generator: nn.Module, noise_dim: int, n: int, *, seed: int = 0, batch_size: int = 500,
             device: torch.device | str = "cpu", progress: Progress | None = None,
             should_stop: StopCheck | None = None) -> torch.Tensor:
    """`n` samples (N, 784) from `generator` in eval mode (BatchNorm running statistics), seeded, drawn in
    batches; `progress(done, n)` after each batch, and fewer samples when `should_stop()` says so."""
    from .models import sample_noise

    was_training = generator.training
    generator.eval()
    g = torch.Generator().manual_seed(seed)
    out, done = [], 0
    try:
        while done < n and not (should_stop is not None and should_stop()):
            z = sample_noise(min(batch_size, n - done), noise_dim, generator=g).to(device)
            out.append(generator(z).float().cpu())
            done += z.shape[0]
            if progress is not None:
                progress(done, n)
    finally:
        generator.train(was_training)
    # device: cpu-ok (samples are gathered on the CPU)
    return torch.cat(out) if out else torch.zeros(0, IMAGE_PIXELS)


def evaluate_generator(generator: nn.Module, noise_dim: int, scorer: Scorer, *, n: int = 10000, seed: int = 0,
                       device: torch.device | str = "cpu") -> dict:
    return score_images(scorer, generate(generator, noise_dim, n, seed=seed, device=device))


def train_classifier(train: Digits, test: Digits, *, epochs: int | None = None, seed: int = 0,
                     batch_size: int = 128, lr: float = 1e-3, device: torch.device | str = "cpu",
                     progress: ProgressArg = True) -> tuple[DigitClassifier, float]:
    """Train the scorer's classifier with Adam; returns it (eval mode) and its test accuracy. `progress(step,
    total)` after every step (True: a bar on stderr)."""
    if epochs is None:
        # Long enough for confident predictions (the score rewards confidence): 6 passes over MNIST; the tiny
        # digits set needs more passes.
        epochs = 6 if len(train) >= 10000 else 15
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = DigitClassifier().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x, y = to_gan_input(train.images), train.labels
    steps = epochs * math.ceil(len(train) / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr * 3, total_steps=steps)
    model.train()
    done = 0
    with as_progress(progress, f"training the {train.name} scorer") as report:
        for _ in range(epochs):
            # device: cpu-ok (an order over the CPU data set)
            perm = torch.randperm(len(train), generator=gen)
            for i in range(0, len(train), batch_size):
                idx = perm[i:i + batch_size]
                loss = F.cross_entropy(model(x[idx].to(device)), y[idx].to(device))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                done += 1
                report(done, steps)
    model.eval()
    return model, accuracy(model, test)


@torch.no_grad()
def accuracy(model: DigitClassifier, data: Digits, batch_size: int = 1000) -> float:
    model.eval()
    dev = next(model.parameters()).device
    x = to_gan_input(data.images)
    correct = 0
    for i in range(0, len(data), batch_size):
        pred = model(x[i:i + batch_size].to(dev)).argmax(1).cpu()
        correct += int((pred == data.labels[i:i + batch_size]).sum())
    return correct / max(len(data), 1)


def scorer_path(dataset: str) -> Path:
    """Where the trained scorer for `dataset` ("mnist" or "digits") is cached."""
    return cache_dir("gan") / f"scorer-{dataset}-v{SCORER_VERSION}.pt"


def shipped_scorer_path(dataset: str) -> Path | None:
    """The scorer weights shipped inside the package for `dataset` (MNIST only; None for the digits)."""
    if dataset != "mnist":
        return None
    return Path(__file__).resolve().parent.parent / "assets" / f"scorer-mnist-v{SCORER_VERSION}.pt"


def scorer_data(dataset: str, data: str = "auto") -> str:
    """Where the scorer for `dataset` learns from: the digits, or MNIST from `data` (``auto``: found or
    downloaded, never the digits fallback)."""
    if dataset == "digits":
        return "digits"
    return "mnist" if data in ("auto", "digits") else data


def build_scorer(train: Digits, test: Digits, *, epochs: int | None = None, batch_size: int = 128,
                 seed: int = SCORER_SEED, device: torch.device | str = "cpu", progress: ProgressArg = True) -> Scorer:
    """Train the classifier and measure the real test set: accuracy, MNIST score and feature statistics."""
    model, _ = train_classifier(train, test, epochs=epochs, batch_size=batch_size, seed=seed, device=device,
                                progress=progress)
    return measure_scorer(model, train.name, test)


def measure_scorer(model: DigitClassifier, dataset: str, test: Digits) -> Scorer:
    """A `Scorer` from a trained classifier: its accuracy, MNIST score and feature statistics on `test`."""
    model.eval()
    scorer = Scorer(model, dataset, accuracy(model, test), 0.0, np.zeros(FEATURE_DIM), np.eye(FEATURE_DIM))
    probs, feats = scorer.outputs(to_gan_input(test.images))
    scorer.mu, scorer.sigma = gaussian_stats(feats)
    scorer.test_score = mnist_score(probs)
    return scorer


def save_scorer(scorer: Scorer, path: str | Path, *, dtype: torch.dtype = torch.float32) -> None:
    """Save atomically (a ``gan-scorer`` checkpoint); `dtype` is the storage type of the weights (float16 halves
    the file; loading returns them to float32)."""
    save_checkpoint({
        "model": {k: v.detach().cpu().to(dtype) if v.is_floating_point() else v.cpu()
                  for k, v in scorer.model.state_dict().items()},
        "dataset": scorer.dataset, "test_accuracy": scorer.test_accuracy, "test_score": scorer.test_score,
        # device: cpu-ok (numpy statistics for a checkpoint)
        "mu": torch.from_numpy(scorer.mu), "sigma": torch.from_numpy(scorer.sigma),
    }, path, kind="gan-scorer")


def load_scorer(dataset: str = "mnist", *, data: str = "auto", device: torch.device | str = "cpu",
                progress: ProgressArg = True, log=None) -> Scorer:
    """The scorer for `dataset` ("mnist" or "digits"): the weights shipped with vislab (MNIST), else the cached
    one, else trained and cached on first use (a few minutes for MNIST on two CPU cores). `data` says where
    MNIST is (as ``--data``) for that training."""
    problem = None  # why the shipped scorer is not used: said in one line, once the fallback is known to work
    shipped = shipped_scorer_path(dataset)
    if shipped is not None:
        try:
            return _scorer_from_state(load_checkpoint(shipped, kind="gan-scorer"), device, dataset)
        except (CheckpointError, KeyError, RuntimeError, TypeError, ValueError, AttributeError) as e:
            problem = f"vislab: warning: shipped {dataset} scorer unusable ({_one_line(e)})"
    path = scorer_path(dataset)
    if path.is_file():
        try:
            scorer = _scorer_from_state(load_checkpoint(path, kind="gan-scorer"), device, dataset)
            if problem is not None and log is not None:
                log(f"{problem}; using the cached one ({path})")
            return scorer
        except (CheckpointError, KeyError, RuntimeError, TypeError, ValueError, AttributeError) as e:
            if log is not None:
                log(f"vislab: warning: ignoring unreadable scorer cache {path} ({_one_line(e)}); retraining it")
    spec = scorer_data(dataset, data)
    train, test = load_dataset(spec, "train"), load_dataset(spec, "test")
    if log is not None:
        log(f"{problem}; training it once (cached in {path})" if problem is not None else
            f"training the {dataset} scorer once (cached in {path})")
    scorer = build_scorer(train, test, device=device, progress=progress)
    save_scorer(scorer, path)
    return scorer


def _one_line(e: BaseException, limit: int = 300) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _scorer_from_state(state: dict, device: torch.device | str, dataset: str | None = None) -> Scorer:
    """A `Scorer` from a saved state, checked against `DigitClassifier` (same parameter names and shapes, all
    finite), the feature size and `dataset`; float16 weights come back as float32."""
    if dataset is not None and state["dataset"] != dataset:
        raise ValueError(f"a {state['dataset']!r} scorer, expected a {dataset!r} one")
    weights = state["model"]
    if not all(isinstance(v, torch.Tensor) and v.is_floating_point() and bool(torch.isfinite(v).all())
               for v in weights.values()):
        raise ValueError("weights are not all finite floating-point tensors")
    model = DigitClassifier()
    model.load_state_dict({k: v.float() for k, v in weights.items()})  # strict: names and shapes must match
    model.to(device).eval()
    mu, sigma = state["mu"].double().numpy(), state["sigma"].double().numpy()
    if mu.shape != (FEATURE_DIM,) or sigma.shape != (FEATURE_DIM, FEATURE_DIM):
        raise ValueError(f"feature statistics of shapes {mu.shape}, {sigma.shape}, expected ({FEATURE_DIM},)")
    return Scorer(model, state["dataset"], float(state["test_accuracy"]), float(state["test_score"]), mu, sigma)
