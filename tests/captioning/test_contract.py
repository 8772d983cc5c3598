"""The job contract of `caption train`, `caption eval` and `caption IMAGE...`: settings, ``run`` with progress
and cancellation, complete run folders, and CLI flags whose defaults are the settings' defaults."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vislab.captioning import checkpoint as ckpt
from vislab.captioning import evaluate, predict
from vislab.captioning.settings import CaptionEvalSettings, CaptionSettings, CaptionTrainSettings
from vislab.captioning.train import run as train_run
from vislab.cli.caption import _eval_parser, _predict_parser, _train_parser
from vislab.jobs import SettingError
from vislab.report import build_report
from vislab.runs import read_metrics

from .conftest import TINY
from .tiny_runs import settings, train_tiny


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("cap") / "run")


class Recorder:
    """A progress callback that remembers its calls, and a should_stop that says yes after `stop_after` calls."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.calls: list[tuple[int, int | None, dict]] = []
        self.stop_after, self.asked = stop_after, 0

    def progress(self, step: int, total: int | None, **numbers: float) -> None:
        self.calls.append((step, total, numbers))

    def should_stop(self) -> bool:
        self.asked += 1
        return self.stop_after is not None and self.asked > self.stop_after

    @property
    def steps(self) -> list[int]:
        return [c[0] for c in self.calls]


def _status(run_dir) -> dict:
    return json.loads((run_dir / "status.json").read_text())


def _report_builds(run_dir, tmp_path) -> None:
    page = build_report([run_dir], tmp_path / "r.html")
    assert page.is_file() and run_dir.name in page.read_text()


# -- caption train -----------------------------------------------------------------------------------------------

def test_train_run_reports_every_step_and_leaves_a_complete_folder(tmp_path):
    rec = Recorder()
    result = train_run(settings(epochs=2), tmp_path / "r", progress=rec.progress, command="vislab caption train x")
    assert result.status == "ok" and result.steps == result.total_steps > 10
    assert rec.steps == list(range(1, result.total_steps + 1))
    assert {c[1] for c in rec.calls} == {result.total_steps}
    assert rec.calls[-1][2]["epoch"] == 2 and np.isfinite(rec.calls[-1][2]["loss"])
    status = _status(tmp_path / "r")
    assert status["status"] == "ok" and status["files"]["checkpoint"] == "checkpoint.pt"
    assert status["numbers"]["val_cider_d"] == pytest.approx(result.val["cider_d"])
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["kind"] == "caption-train" and config["command"] == "vislab caption train x"
    assert config["config"]["epochs"] == 2 and config["config"]["feature_spec"]["backbone"] == TINY
    assert len(list((tmp_path / "r" / "samples").glob("*.png"))) == 4
    assert ckpt.read(tmp_path / "r")["progress"]["step"] == result.steps


def test_train_cancelled_midway_resumes_to_the_uninterrupted_weights(tmp_path):
    full = train_run(settings(epochs=2), tmp_path / "full")
    rec = Recorder(stop_after=5)
    cut = train_run(settings(epochs=2), tmp_path / "cut", progress=rec.progress, should_stop=rec.should_stop)
    assert cut.status == "cancelled" and cut.steps == 5 and rec.steps == [1, 2, 3, 4, 5]
    assert _status(tmp_path / "cut")["status"] == "cancelled"
    assert ckpt.read(tmp_path / "cut")["progress"] == {"epoch": 0, "batch": 5, "step": 5}
    _report_builds(tmp_path / "cut", tmp_path)

    # The settings come from the checkpoint; only `resume` (and here the same epochs) are given.
    resumed = train_run(CaptionTrainSettings(resume=str(tmp_path / "cut"), epochs=2), command="resume")
    assert resumed.status == "ok" and resumed.steps == full.steps and resumed.run_dir == tmp_path / "cut"
    for k, v in full.params.items():
        assert np.array_equal(v, resumed.params[k]), k  # bitwise on a CPU
    losses = lambda d: [(r["step"], r["loss"]) for r in read_metrics(d) if "loss" in r]  # noqa: E731
    assert losses(tmp_path / "cut") == losses(tmp_path / "full")
    history = json.loads((tmp_path / "cut" / "config.json").read_text())["history"]
    assert [h["action"] for h in history] == ["resume"] and history[0]["command"] == "resume"


def test_resume_keeps_the_runs_settings_and_refuses_changes(trained, tmp_path):
    with pytest.raises(SettingError, match="hidden_dim cannot change when resuming"):
        train_run(CaptionTrainSettings(resume=str(trained.run_dir), hidden_dim=32))
    two = train_tiny(tmp_path / "two", epochs=2)
    with pytest.raises(SettingError, match="epochs must be at least 2, the epochs the resumed run has done"):
        train_run(CaptionTrainSettings(resume=str(two.run_dir), epochs=1))
    with pytest.raises(SettingError, match="out .*continues in its own folder"):
        train_run(CaptionTrainSettings(resume=str(trained.run_dir)), tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists()


# -- caption eval ------------------------------------------------------------------------------------------------

def test_eval_run_reports_progress_and_can_be_cancelled(trained, tmp_path):
    s = CaptionEvalSettings(checkpoint=str(trained.run_dir), data="shapes:150", split="all")
    rec = Recorder()
    done = evaluate.run(s, tmp_path / "e", progress=rec.progress)
    assert done.status == "ok" and rec.steps == [64, 128, 150] and done.images == 150
    assert json.loads((tmp_path / "e" / "scores.json").read_text())["BLEU-4"] == done.scores["BLEU-4"]
    assert len(json.loads((tmp_path / "e" / "captions.json").read_text())) == 150

    rec = Recorder(stop_after=1)
    cut = evaluate.run(s, tmp_path / "c", progress=rec.progress, should_stop=rec.should_stop)
    assert cut.status == "cancelled" and cut.images == 64 and rec.steps == [64]
    assert len(json.loads((tmp_path / "c" / "captions.json").read_text())) == 64
    assert _status(tmp_path / "c")["status"] == "cancelled"
    _report_builds(tmp_path / "c", tmp_path)


# -- caption IMAGE... --------------------------------------------------------------------------------------------

def test_caption_run_reports_progress_and_can_be_cancelled(trained, tmp_path):
    picture = str(sorted((trained.run_dir / "samples").glob("*.png"))[0])
    s = CaptionSettings(images=[picture] * 70 + ["sample:coffee"], checkpoint=str(trained.run_dir))
    rec = Recorder()
    done = predict.run(s, tmp_path / "p", progress=rec.progress)
    assert done.status == "ok" and rec.steps == [64, 71] and len(done.captions) == 71
    assert len({c for _, c in done.captions[:70]}) == 1  # the same picture, the same caption
    written = json.loads((tmp_path / "p" / "captions.json").read_text())
    assert [(r["image"], r["caption"]) for r in written] == done.captions

    rec = Recorder(stop_after=1)
    cut = predict.run(s, tmp_path / "c", progress=rec.progress, should_stop=rec.should_stop)
    assert cut.status == "cancelled" and len(cut.captions) == 64
    assert _status(tmp_path / "c")["status"] == "cancelled"
    _report_builds(tmp_path / "c", tmp_path)


def test_caption_without_a_folder_writes_nothing(trained, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pairs = predict.caption(CaptionSettings(images=["sample:coffee"], checkpoint=str(trained.run_dir)))
    assert pairs[0][0] == "sample:coffee" and isinstance(pairs[0][1], str)
    assert list(tmp_path.iterdir()) == []


def test_cli_caption_with_out_writes_what_it_prints(cli, trained, tmp_path):
    r = cli("caption", "sample:coffee", "sample:chelsea", "--checkpoint", trained.run_dir, "--json",
            "--out", tmp_path / "p")
    assert r.rc == 0, r.err
    printed = json.loads(r.out)
    assert printed == json.loads((tmp_path / "p" / "captions.json").read_text())
    config = json.loads((tmp_path / "p" / "config.json").read_text())
    assert config["kind"] == "caption" and config["config"]["images"] == ["sample:coffee", "sample:chelsea"]


# -- the CLI's defaults are the settings' ----------------------------------------------------------------------

@pytest.mark.parametrize(("parser", "argv", "cls"), [
    (_train_parser, [], CaptionTrainSettings),
    (_eval_parser, ["--checkpoint", "x"], CaptionEvalSettings),
    (_predict_parser, ["img.png"], CaptionSettings),
])
def test_cli_flag_defaults_are_the_settings_defaults(parser, argv, cls):
    args = parser().parse_args(argv)
    fresh = cls()
    for name in cls.setting_names():
        assert hasattr(args, name), name  # every setting has its flag
        if name not in ("checkpoint", "images"):  # the required inputs
            assert getattr(args, name) == getattr(fresh, name), name


def test_train_help_shows_the_settings_defaults():
    helps = {a.dest: a.help for a in _train_parser()._actions}
    s = CaptionTrainSettings()
    for name in ("data", "cell", "engine", "batch_size", "lr", "lr_decay", "hidden_dim", "wordvec_dim",
                 "max_length", "min_count", "dtype", "save_every", "log_every", "eval_images"):
        assert f"default {getattr(s, name)}" in helps[name], (name, helps[name])


def test_settings_refuse_bad_values_naming_the_setting():
    with pytest.raises(SettingError, match="lr must be <= 1"):
        CaptionTrainSettings(lr=2.0).validate()
    with pytest.raises(SettingError, match="feature_grid must be RxC"):
        CaptionTrainSettings(feature_grid="0x3").validate()
    with pytest.raises(SettingError, match="images must list at least one"):
        CaptionSettings(images=[], checkpoint="x").validate()
    with pytest.raises(SettingError, match="checkpoint must be given"):
        CaptionEvalSettings().validate()
    CaptionTrainSettings().validate()  # the defaults are valid
