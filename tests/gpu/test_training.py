"""Training on the GPU against the CPU at small sizes: caption train (numpy and torch engines), caption sample and
eval of one CPU-trained model on each device, gan train.

Tolerances: the captioning tests turn TF32 off (`exact_float32`), so the backbone's features agree to float32
rounding on both devices; the torch engine trains in float64: losses agree to 1e-3 relative (the numpy engine
trains on the CPU either way). Greedy captions of the same model are then expected word for word; BLEU/CIDEr
within 0.02. A DCGAN over 20 Adam steps
amplifies rounding (TF32 convolutions on the GPU): losses within 10%, sample grids within 8% of the pixel range.
"""

from __future__ import annotations

import json

import pytest
import torch

from .conftest import DEVICE, skip_without_device
from .jobs import Job, compare, run_job

skip_without_device()
pytestmark = pytest.mark.gpu

CAPTION = {"data": "shapes:40", "epochs": 1, "batch_size": 8, "hidden_dim": 16, "wordvec_dim": 8,
           "image_size": 32, "eval_images": 4, "log_every": 1, "no_cache": True}
TRAIN = {
    "caption-train-numpy": Job("caption train", {**CAPTION, "engine": "numpy"}, rtol=1e-3,
                               why="same numpy training on features from each device"),
    "caption-train-torch": Job("caption train", {**CAPTION, "engine": "torch", "dtype": "float64"}, rtol=1e-3,
                               why="float64 training on features from each device"),
    "gan-train": Job("gan train", {"arch": "dcgan", "data": "digits", "limit": 640, "batch_size": 32,
                                   "max_steps": 20, "noise_dim": 16, "eval_samples": 0, "sample_every": 10,
                                   "checkpoint_every": 10, "log_every": 5, "seed": 1},
                     rtol=0.1, atol=1e-2, pixels=0.08, why="20 Adam steps of a DCGAN, TF32 convolutions"),
}


@pytest.fixture
def exact_float32():
    """Full float32 convolutions and matmuls on the GPU (cuDNN's TF32 default rounds to 10 mantissa bits)."""
    # (monkeypatch cannot undo these: torch's backend flags are properties of module objects)
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before


@pytest.mark.parametrize("name", list(TRAIN))
def test_training_on_the_gpu_matches_the_cpu(name, tmp_path, request):
    if name.startswith("caption"):
        request.getfixturevalue("exact_float32")
    job = TRAIN[name]
    cpu, _ = run_job(job, "cpu", tmp_path / "cpu")
    gpu, _ = run_job(job, DEVICE, tmp_path / "gpu")
    assert cpu.status == "ok"
    problems = compare(job, cpu, gpu)
    assert not problems, f"{name} on {DEVICE} vs cpu ({job.why}):\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def captioner(tmp_path_factory):
    """A torch-engine captioner trained on the CPU: sampled and scored on each device."""
    out = tmp_path_factory.mktemp("captioner") / "run"
    r, _ = run_job(TRAIN["caption-train-torch"], "cpu", out)
    assert r.status == "ok"
    return out


def test_caption_sample_and_eval_on_the_gpu_match_the_cpu(captioner, tmp_path, exact_float32):
    sample = Job("caption", {"images": ["sample:coffee", "sample:chelsea"], "checkpoint": str(captioner)})
    cpu, _ = run_job(sample, "cpu", tmp_path / "s-cpu")
    gpu, _ = run_job(sample, DEVICE, tmp_path / "s-gpu")

    def captions(r):
        return [rec["caption"] for rec in json.loads((r.run_dir / "captions.json").read_text())]
    assert captions(gpu) == captions(cpu)
    ev = Job("caption eval", {"checkpoint": str(captioner), "split": "test", "no_cache": True}, rtol=0, atol=0.02,
             why="BLEU/CIDEr of greedy captions from features ~1e-6 apart")
    cpu, _ = run_job(ev, "cpu", tmp_path / "e-cpu")
    gpu, _ = run_job(ev, DEVICE, tmp_path / "e-gpu")
    problems = compare(ev, cpu, gpu)
    assert not problems, "\n".join(problems)
