"""Coarse to fine and stopping on a plateau: the iteration plan, the stopping rule against a loss sequence
worked by hand, and the pictures passed to `progress`."""

from __future__ import annotations

import torch

from vislab.style import runners
from vislab.style.objective import Terms
from vislab.style.optimize import Plateau, optimize_pixels
from vislab.style.settings import StyleSettings, auto_scales, scale_iterations


def test_the_plan_puts_most_iterations_where_pixels_are_few():
    assert scale_iterations(50, 3, 2.0) == [200, 100, 50]
    assert scale_iterations(7, 2, 1.0) == [7, 7]
    # auto: halve while the half keeps >= 96 px
    assert [auto_scales(n) for n in (48, 191, 192, 384, 512, 1024)] == [1, 1, 2, 3, 3, 4]
    s = StyleSettings(content="c.png", styles=("s.png",), image_size=512, scales=None, iterations=10,
                      coarse_factor=3.0)
    assert s.scale_count == 3 and s.scale_iterations == [90, 30, 10] and s.total_steps == 130


def test_plateau_stops_when_the_loss_fell_less_than_the_tolerance_over_the_window():
    # the loss halves each step for 5 steps, then falls 0.1% a step: with a window of 3 and tolerance 1%,
    # the first step whose loss is < 1% below the loss 3 steps earlier is step 9 (steps 6..9 are flat).
    losses = [2.0 ** -k for k in range(6)] + [2.0 ** -5 * 0.999 ** k for k in range(1, 20)]
    p = Plateau(0.01, window=3)
    stopped = next(i for i, v in enumerate(losses, 1) if p(v))
    assert stopped == 9
    assert not any(Plateau(0.0, window=3)(v) for v in losses)  # tolerance 0: never


def test_optimize_pixels_stops_early_on_a_converged_quadratic_and_runs_all_without_tolerance():
    target = torch.full((1, 3, 4, 4), 0.3)

    def f(x: torch.Tensor) -> Terms:
        loss = ((x - target) ** 2).sum() + 1.0  # converges to 1: the relative fall vanishes
        z = loss.new_zeros(())
        return Terms(loss, loss, z, z)

    seen: list[int] = []
    optimize_pixels(torch.full((1, 3, 4, 4), 0.9), f, iterations=200, stop_tolerance=1e-3,
                    on_step=lambda it, t, img: seen.append(it))
    assert 10 < len(seen) < 60
    seen.clear()
    optimize_pixels(torch.full((1, 3, 4, 4), 0.9), f, iterations=30, on_step=lambda it, t, img: seen.append(it))
    assert seen == list(range(1, 31))


def test_progress_receives_preview_pictures_of_each_scale(tmp_path):
    calls: list[tuple[int, int, dict]] = []
    s = StyleSettings(content="sample:chelsea", styles=("sample:coffee",), image_size=40, scales=2,
                      iterations=12, coarse_factor=1.0, stop_tolerance=0.0, device="cpu")
    r = runners.run_style(s, tmp_path / "run", progress=lambda step, total, **n: calls.append((step, total, n)))
    assert [c[0] for c in calls] == list(range(1, 25)) and {c[1] for c in calls} == {24}
    previews = {step: n["preview"] for step, _, n in calls if "preview" in n}
    assert set(previews) == {1, 10, 13, 20}  # each scale's first step, and every 10th
    assert previews[1].shape == (3, 13, 20) and previews[13].shape == (3, 27, 40)
    for p in previews.values():
        assert p.device.type == "cpu" and 0 <= float(p.min()) and float(p.max()) <= 1
    counters = ("scale", "scales", "iteration", "iterations")  # where the job is: whole numbers; the rest floats
    assert all(isinstance(v, int) if k in counters else isinstance(v, float)
               for _, _, n in calls for k, v in n.items() if k != "preview")
    assert [(n["scale"], n["iteration"]) for _, _, n in calls if n["iteration"] in (1, 12)] == \
        [(1, 1), (1, 12), (2, 1), (2, 12)] and {n["scales"] for _, _, n in calls} == {2}
    assert r.image.shape == (3, 27, 40)


def test_a_plateau_ends_a_scale_early_and_the_progress_jumps_to_the_next_scale(tmp_path):
    calls: list[int] = []
    s = StyleSettings(content="sample:chelsea", styles=("sample:coffee",), image_size=40, scales=2,
                      iterations=200, coarse_factor=1.0, stop_tolerance=0.5, device="cpu")
    r = runners.run_style(s, tmp_path / "run", progress=lambda step, total, **n: calls.append(step))
    coarse = [h for h in r.history if h["scale"] == 0]
    assert 10 < len(coarse) < 200  # a 50% fall over 10 steps does not last long
    assert calls[len(coarse)] == 201  # the fine scale's first step is where the plan puts it
