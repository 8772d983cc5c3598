"""The peak-memory estimate that refuses sizes too large to fit: extrapolated probes match a full-size
measurement, and the estimate is an honest (slightly high) bound on what a real run's resident memory grows by."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from vislab.style import memory
from vislab.style.recipe import style_recipe
from vislab.style.settings import StyleSettings


def test_probe_extrapolation_matches_a_full_size_measurement(effnet):
    layers = ["block2", "block9"]
    hw = (300, 400)
    full = memory._probe(effnet, layers, hw)
    assert memory.saved_bytes(effnet, layers, hw) == pytest.approx(full, rel=0.1)
    # activations grow with the pixels: four times the pixels, about four times the bytes
    assert memory.saved_bytes(effnet, layers, (600, 800)) == pytest.approx(4 * full, rel=0.15)


def test_lbfgs_history_and_style_phase_enter_the_estimate(effnet):
    recipe = style_recipe(effnet, StyleSettings(), 1)
    lbfgs, _ = memory.estimate(effnet, recipe, (300, 400), [(300, 400)], optimizer="lbfgs")
    adam, _ = memory.estimate(effnet, recipe, (300, 400), [(300, 400)], optimizer="adam")
    image = 3 * 300 * 400 * 4
    assert lbfgs - adam == pytest.approx((2 * memory.HISTORY + 4 - 2) * image)
    _, targets = memory.estimate(effnet, recipe, (300, 400), [(3000, 4000)], optimizer="lbfgs")
    assert targets > lbfgs  # a style image 10x the output's side dominates


MEASURE = textwrap.dedent("""
    import torch
    torch.set_num_threads(1)
    from vislab import backbones
    from vislab.images import load_image
    from vislab.style.inputs import fitted_hw
    from vislab.style.memory import estimate
    from vislab.style.recipe import style_recipe
    from vislab.style.transfer import StyleSettings, style_transfer
    bb = backbones.load("efficientnet_lite0")
    c, s = load_image("sample:chelsea"), load_image("sample:coffee")
    style_transfer(bb, c, [s], StyleSettings(image_size=32, iterations=2))  # torch's one-off allocations

    def kib(field):
        return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(field + ":"))

    open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to the memory in use now
    base = kib("VmRSS")
    st = StyleSettings(image_size=256, iterations=22)  # past the 20 steps of L-BFGS history
    style_transfer(bb, c, [s], st)
    grew = (kib("VmHWM") - base) * 1024
    est = max(estimate(bb, style_recipe(bb, st, 1), fitted_hw(c.shape, 256), [fitted_hw(s.shape, 256)],
                       optimizer="lbfgs"))
    print(grew, est)
""")


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux's resettable peak RSS")
def test_the_estimate_bounds_a_real_runs_memory_growth_closely():
    out = subprocess.run([sys.executable, "-c", MEASURE], capture_output=True, text=True, timeout=300, check=True)
    grew, est = map(float, out.stdout.split())
    assert grew * 1.0 <= est <= grew * 1.6, (grew / 2**20, est / 2**20)


def test_gpu_memory_is_checked_on_cuda(effnet, monkeypatch):
    """On a CUDA device the estimate is compared with the GPU's free memory (faked here)."""
    from vislab.jobs import SettingError

    recipe = style_recipe(effnet, StyleSettings(), 1)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (2**20, 2**30))
    gpu = type("FakeBackbone", (), {})()
    gpu.device = torch.device("cuda")
    monkeypatch.setattr(memory, "estimate", lambda *a, **k: (5 * 2**20, 0.0))
    with pytest.raises(SettingError, match="image_size 256 is too large: .* GPU memory .* 1.0 MiB is free"):
        memory.check_fits(gpu, recipe, (170, 256), [], optimizer="lbfgs", image_size=256)
