"""The GPU's pixel loop, checked on the CPU: `DeviceLBFGS` takes torch's L-BFGS steps without reading anything
back, and the batched reads of `_optimize_unread` replay the step-by-step loop exactly (same callbacks, same
plateau iteration, same image)."""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from vislab.jobs import SettingError
from vislab.style import optimize
from vislab.style.device_lbfgs import DeviceLBFGS
from vislab.style.objective import Terms
from vislab.style.optimize import PixelOptimizer, Plateau, optimize_pixels


def _objective(target: torch.Tensor):
    def f(x: torch.Tensor) -> Terms:
        loss = ((x - target) ** 2).sum() + 0.1 * (x ** 4).sum() + 1.0
        z = loss.new_zeros(())
        return Terms(loss, loss - 1.0, z, z)
    return f


class NoReads(TorchDispatchMode):
    """Fails on any op that copies a tensor's value to Python (.item(), float(t), bool(t), if t: ...)."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in (torch.ops.aten._local_scalar_dense.default, torch.ops.aten.item.default):
            raise AssertionError(f"host read: {func}")
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("history", [3, 20])
def test_device_lbfgs_takes_torchs_steps(history):
    g = torch.Generator().manual_seed(0)
    target = torch.rand((1, 3, 6, 6), generator=g, dtype=torch.float64)
    f = _objective(target)
    x0 = torch.full((1, 3, 6, 6), 0.9, dtype=torch.float64)
    ref = PixelOptimizer(x0, f, history=history)  # torch's L-BFGS on the CPU
    dev = PixelOptimizer(x0, f, history=history)
    dev.opt = DeviceLBFGS([dev.image], lr=1.0, history_size=history)
    for _ in range(25):
        ref.step()
        dev.step()
    torch.testing.assert_close(dev.image, ref.image, rtol=1e-12, atol=1e-12)


def test_an_unread_step_reads_nothing_back():
    f = _objective(torch.full((1, 3, 6, 6), 0.3))
    run = PixelOptimizer(torch.full((1, 3, 6, 6), 0.9), f)
    run.opt = DeviceLBFGS([run.image], lr=1.0, history_size=4)
    with NoReads():
        for _ in range(6):
            run.step_unread()
    with pytest.raises(AssertionError, match="host read"), NoReads():  # the mode does catch reads
        float(run.image.detach().sum())


@pytest.mark.parametrize("iterations, tolerance", [(200, 1e-3), (13, 0.0)])
def test_batched_reads_replay_the_step_by_step_loop(iterations, tolerance):
    f = _objective(torch.full((1, 3, 4, 4), 0.3))
    x0 = torch.full((1, 3, 4, 4), 0.9)
    seen_cpu, seen_unread = [], []
    a = optimize_pixels(x0, f, iterations=iterations, stop_tolerance=tolerance,
                        on_step=lambda it, t, img: seen_cpu.append((it, t.floats(), img.clone())))
    run = PixelOptimizer(x0, f)  # the same (torch) optimizer: only the reading schedule differs
    b = optimize._optimize_unread(run, iterations, lambda it, t, img: seen_unread.append((it, t.floats(), img)),
                                  None, Plateau(tolerance))
    assert torch.equal(a, b)
    assert [(i, v) for i, v, _ in seen_cpu] == [(i, v) for i, v, _ in seen_unread]
    assert all(torch.equal(x, y) for (_, _, x), (_, _, y) in zip(seen_cpu, seen_unread, strict=True))
    if tolerance:
        assert optimize.READ_EVERY < len(seen_cpu) < iterations and len(seen_cpu) % optimize.READ_EVERY


def test_divergence_is_reported_at_its_step_from_the_batched_reads():
    def f(x: torch.Tensor) -> Terms:
        loss = (x * float("inf")).sum()
        return Terms(loss, loss, loss, loss)
    run = PixelOptimizer(torch.full((1, 3, 4, 4), 0.5), f, optimizer="adam")
    with pytest.raises(SettingError, match="diverge at step 1"):
        optimize._optimize_unread(run, 5, None, None, Plateau(0.0))
