"""The job contract for `style`, `invert` and `texture`: settings own defaults and checks, `run` drives a job
with progress and cancellation, and the CLI's flag defaults are the settings' defaults."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import MISSING, fields, replace

import pytest

from vislab.errors import ConfigError
from vislab.jobs import SettingError
from vislab.runs import read_metrics
from vislab.style import optimize, runners
from vislab.style.settings import OPTIMIZER_LR, InvertSettings, StyleSettings, TextureSettings

TINY = dict(image_size=40, iterations=3, device="cpu")


class Progress:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int | None, dict]] = []

    def __call__(self, step: int, total: int | None, **numbers: float) -> None:
        self.calls.append((step, total, numbers))


def check_finished(result, steps: int, status: str = "ok") -> dict:
    """The run folder is complete: status.json names the status and files; metrics has every step."""
    payload = json.loads((result.run_dir / "status.json").read_text())
    assert result.status == payload["status"] == status
    assert payload["files"]["result"] == "result.png" and result.files["result"].is_file()
    rows = read_metrics(result.run_dir)
    assert [r["step"] for r in rows[:-1]] == list(range(1, steps + 1))
    assert rows[-1]["final_total"] == pytest.approx(result.numbers["final_total"])
    return payload


def test_style_runs_through_run_with_progress_two_scales_and_an_output_file(tmp_path):
    progress = Progress()
    s = StyleSettings(content="sample:chelsea", styles=("sample:coffee",), scales=2, output=str(tmp_path / "o.png"),
                      **TINY)
    r = runners.run(s, tmp_path / "run", progress=progress, command="vislab style test")
    coarse = round(3 * s.coarse_factor)  # the coarse scale may run coarse_factor times the fine one's iterations
    assert s.scale_iterations == [coarse, 3]
    n = coarse + 3
    assert [c[0] for c in progress.calls] == list(range(1, n + 1)) and {c[1] for c in progress.calls} == {n}
    assert set(progress.calls[0][2]) == {"loss", "content", "style", "tv", "preview", "scale", "scales", "iteration",
                                         "iterations"}
    # where each step is: scale k of 2 (1-based), iteration i of that scale's own plan
    assert [(c[2]["scale"], c[2]["scales"], c[2]["iteration"], c[2]["iterations"]) for c in progress.calls] == \
        [(1, 2, i, coarse) for i in range(1, coarse + 1)] + [(2, 2, i, 3) for i in range(1, 4)]
    check_finished(r, n)
    assert r.files["image"] == tmp_path / "o.png" and r.files["image"].is_file()
    assert r.image.shape == (3, 27, 40)
    fine = [h for h in r.history if h["scale"] == 1]
    assert len(fine) == 3 and r.final["total"] < fine[0]["total"]  # the finest scale lowered its loss
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["command"] == "vislab style test" and config["config"]["styles"] == ["sample:coffee"]


def test_invert_and_texture_run_with_progress_and_their_numbers(tmp_path):
    progress = Progress()
    r = runners.run_invert(InvertSettings(image="sample:coffee", layer="stem", **TINY), tmp_path / "inv",
                           progress=progress)
    assert [c[0] for c in progress.calls] == [1, 2, 3]
    check_finished(r, 3)
    assert r.layer == "stem" and {"psnr", "ssim"} <= set(r.numbers) and math.isfinite(r.numbers["psnr"])
    progress = Progress()
    r = runners.run_texture(TextureSettings(style="sample:coffee", style_layers=("stem",), **TINY),
                            tmp_path / "tex", progress=progress)
    assert [c[0] for c in progress.calls] == [1, 2, 3]
    check_finished(r, 3)
    assert r.image.shape == (3, 27, 40)  # the style's aspect


def test_a_cancelled_run_keeps_the_image_so_far_and_reports(tmp_path):
    from vislab.report import build_report

    progress = Progress()
    s = StyleSettings(content="sample:chelsea", styles=("sample:coffee",), output=str(tmp_path / "o.png"),
                      **{**TINY, "iterations": 50})
    r = runners.run_style(s, tmp_path / "run", progress=progress, should_stop=lambda: len(progress.calls) >= 2)
    assert r.cancelled and [c[0] for c in progress.calls] == [1, 2]
    payload = check_finished(r, 2, "cancelled")
    assert "cancelled" in payload["message"]
    assert not (tmp_path / "o.png").exists()  # the output file is for finished results only
    page = build_report([r.run_dir], tmp_path / "r.html")
    assert page.is_file() and "result.png" in page.read_text()


def test_cancelling_before_the_first_step_still_finishes_the_folder(tmp_path):
    r = runners.run_texture(TextureSettings(style="sample:coffee", **TINY), tmp_path / "run",
                            should_stop=lambda: True)
    assert r.cancelled and r.history == [] and r.start == r.final
    check_finished(r, 0, "cancelled")


def test_run_refuses_settings_of_another_kind():
    with pytest.raises(TypeError, match="StyleSettings"):
        runners.run(object())


@pytest.mark.parametrize("cls", [StyleSettings, InvertSettings, TextureSettings])
def test_cli_flag_defaults_are_the_settings_defaults(cls):
    from vislab.cli import build_parser

    required = {"style": ["c.png", "s.png"], "invert": ["i.png"], "texture": ["s.png"]}[cls.kind]
    args = _subparser(build_parser(), cls.kind).parse_args(required)
    inputs = {"content", "styles", "image", "style"}  # positional: required, no default
    defaults = {f.name: f.default for f in fields(cls) if f.default is not MISSING and f.name not in inputs}
    compared = [name for name in vars(args) if name in defaults]
    assert set(compared) == set(defaults)  # every setting has a flag
    for name in compared:
        assert getattr(args, name) == defaults[name], name
    # and the CLI's settings for those arguments are the settings class's defaults, inputs aside
    from vislab import registry
    from vislab.cli.build import settings_of

    made = settings_of(registry.get(cls.kind), args)  # the generated command's settings
    assert replace(made, **{k: getattr(cls(), k) for k in inputs if hasattr(made, k)}) == cls()


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise AssertionError("no subcommands")


BAD_NUMBERS = [0, -1, math.nan, math.inf, -math.inf, 1e400, 10**30, "3", None, True]


@pytest.mark.parametrize("name,ok", [
    ("image_size", 64), ("iterations", 5), ("scales", 1), ("save_every", 2), ("lr", 0.5), ("tv_weight", 1.0),
    ("content_weight", 1.0), ("style_weight", 1.0), ("style_scale", 1.0), ("seed", 0), ("coarse_factor", 2.0),
    ("stop_tolerance", 0.01)])
def test_every_numeric_setting_refuses_bad_values_naming_itself(name, ok):
    base = StyleSettings(content="c.png", styles=("s.png",))
    replace(base, **{name: ok}).validate()
    allowed_zero = {"tv_weight", "content_weight", "style_weight", "seed", "stop_tolerance"}
    allowed_none = {"save_every", "lr", "scales"}
    for bad in BAD_NUMBERS:
        if (bad == 0 and not isinstance(bad, bool) and name in allowed_zero) or (bad is None and name in allowed_none):
            continue
        with pytest.raises(SettingError) as e:
            replace(base, **{name: bad}).validate()
        assert e.value.setting == name, (name, bad, str(e.value))


@pytest.mark.parametrize("name", ["content_layer_weights", "style_layer_weights", "style_blend_weights"])
def test_weight_lists_refuse_bad_entries_and_lengths(name):
    n = 1 if name == "style_blend_weights" else 2
    layers = {"content_layer_weights": {"content_layers": ("stem", "block2")},
              "style_layer_weights": {"style_layers": ("stem", "block2")}}.get(name, {})
    base = StyleSettings(content="c.png", styles=("s.png",), **layers)
    replace(base, **{name: (1.0,) * n}).validate()
    for bad in [(math.nan,) * n, (math.inf,) * n, (-1.0,) * n, (0.0,) * n, (1.0,) * (n + 1), (), "1,2", (1e30,) * n]:
        with pytest.raises(SettingError) as e:
            replace(base, **{name: bad}).validate()
        assert e.value.setting == name, (bad, str(e.value))


def test_inputs_choices_and_lists_are_checked_by_the_settings():
    base = StyleSettings(content="c.png", styles=("s.png",))
    cases = {"content": "", "styles": (), "optimizer": "sgd", "output": "x.gif", "style_layers": ("a", "a"),
             "original_colors": "yes", "init": ""}
    for name, bad in cases.items():
        with pytest.raises(SettingError) as e:
            replace(base, **{name: bad}).validate()
        assert e.value.setting == name
    with pytest.raises(SettingError, match="lr must be <= 1"):
        replace(base, optimizer="adam", lr=2.0).validate()
    with pytest.raises(SettingError, match="content_weight and style_weight are both 0"):
        replace(base, content_weight=0, style_weight=0).validate()
    with pytest.raises(SettingError, match="style_weight must be > 0"):
        TextureSettings(style="s.png", style_weight=0).validate()
    with pytest.raises(SettingError, match="content_weight must be > 0"):
        InvertSettings(image="i.png", content_weight=0).validate()


def test_the_optimizer_names_are_the_settings_choices_and_divergence_names_lr():
    import torch

    from vislab.style.objective import Terms

    assert set(optimize.METHODS) == set(OPTIMIZER_LR)

    def loss(x: torch.Tensor) -> Terms:
        t = (x ** 2).sum()
        return Terms(t, t, t * 0, t * 0)

    with pytest.raises(SettingError, match="lr made the optimization diverge"):
        optimize.optimize_pixels(torch.full((1, 3, 4, 4), 0.5), loss, iterations=3, optimizer="adam", lr=math.inf)
    with pytest.raises(ConfigError, match="optimizer"):
        optimize.PixelOptimizer(torch.zeros(1, 3, 2, 2), loss, optimizer="sgd")
