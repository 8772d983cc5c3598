"""Each picture-making and classifying job on the GPU against the same job on the CPU, at small sizes.

Tolerances (stated per job below): single forward/backward passes agree to TF32 rounding (1e-2 relative on
numbers, 2% of the pixel range on maps); iterative optimizations (L-BFGS, Adam over tens of steps) amplify that
rounding, so their pictures are compared at 3% of the pixel range and their losses at 5-10%.
"""

from __future__ import annotations

import pytest

from .conftest import DEVICE, skip_without_device
from .jobs import Job, compare, run_job

skip_without_device()
pytestmark = pytest.mark.gpu

IMG = "sample:chelsea"
# cuDNN convolves in TF32 by default on Ampere and later (10-bit mantissa, ~1e-3 relative per layer): one pass
# through the backbone agrees with the CPU to ~1e-2 relative, hence rtol 1e-2 on single passes.
ONE_PASS = {"rtol": 1e-2, "atol": 1e-3}
JOBS = {
    "classify": Job("classify", {"images": ["sample:coffee", IMG], "topk": 5}, **ONE_PASS, why="one forward pass"),
    "saliency-vanilla": Job("saliency", {"images": [IMG], "method": "vanilla"}, **ONE_PASS, pixels=0.02,
                            why="one gradient"),
    "saliency-smoothgrad": Job("saliency", {"images": [IMG], "method": "smoothgrad", "samples": 4}, **ONE_PASS,
                               pixels=0.02, why="the noise is drawn on the CPU from the seed: the same on both"),
    "saliency-ig": Job("saliency", {"images": [IMG], "method": "ig", "steps": 8, "max_steps": 16}, rtol=0.05,
                       atol=1e-2, pixels=0.02, skip=("steps", "evaluations", "intervals"),
                       why="adaptive refinement may split one interval more or less"),
    "fool": Job("fool", {"image": IMG, "target": "stingray", "max_iters": 30}, **ONE_PASS, pixels=0.01,
                skip=("iterations", "l2", "linf", "target_prob_after", "steps"),
                why="stops at the first step the 8-bit image is fooled, which may come a step apart"),
    "dream": Job("dream", {"class_": "flamingo", "steps": 5, "size": 64, "views": 1}, pixels=0.03, rtol=0.05,
                 atol=1e-3, why="5 Adam steps amplify rounding"),
    "style": Job("style", {"content": IMG, "image_size": 96, "iterations": 20}, pixels=0.03, rtol=0.1, atol=1e-3,
                 skip=("iterations", "steps"), why="the default recipe (recolored start, L-BFGS) at 96 px"),
    "invert": Job("invert", {"image": IMG, "image_size": 48, "iterations": 10}, pixels=0.03, rtol=0.1, atol=1e-3,
                  skip=("iterations", "steps"), why="10 L-BFGS steps"),
    "texture": Job("texture", {"image_size": 48, "iterations": 10}, pixels=0.03, rtol=0.1, atol=1e-3,
                   skip=("iterations", "steps"), why="10 L-BFGS steps from the same CPU-drawn noise"),
    "attack-pgd": Job("attack", {"images": [IMG], "attack": "pgd", "eps": 4.0, "alpha": 1.0, "steps": 5,
                                 "random_start": False}, pixels=0.05, rtol=0.05, atol=1e-3,
                      why="5 sign steps: a gradient component near zero under TF32 may take the other sign, a "
                          "level or two at that pixel, magnified 32x in the change picture; the budget (4 levels) "
                          "bounds every pixel"),
    "gan-sample": Job("gan sample", {"n": 16}, pixels=0.01, **ONE_PASS, why="one generator forward, CPU noise"),
    "gan-eval": Job("gan eval", {"n": 500}, rtol=2e-2, atol=1e-2,
                    why="scores of the same 500 samples; the Frechet distance takes a matrix square root"),
}


@pytest.mark.parametrize("name", list(JOBS))
def test_job_on_the_gpu_matches_the_cpu(name, tmp_path):
    job = JOBS[name]
    cpu, _ = run_job(job, "cpu", tmp_path / "cpu")
    gpu, _ = run_job(job, DEVICE, tmp_path / "gpu")
    assert cpu.status == "ok" or name == "fool", cpu.status
    problems = compare(job, cpu, gpu)
    assert not problems, f"{name} on {DEVICE} vs cpu ({job.why}):\n" + "\n".join(problems)
