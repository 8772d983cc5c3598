"""The job contract for `gan train`, `gan sample` and `gan eval`: settings, `run` with progress and stop, a
complete run folder (also when stopped), exact resume after a stop, and CLI defaults read from the settings."""

import json

import pytest
import torch

from vislab.cli import build_parser
from vislab.gan import sample, score, train
from vislab.gan.settings import GanEvalSettings, GanSampleSettings, GanTrainSettings, TrainConfig
from vislab.report import build_report
from vislab.report.scan import scan_run
from vislab.runs import load_checkpoint, read_config, read_metrics

SMALL = dict(arch="mlp", loss="bce", data="digits", batch_size=8, noise_dim=16, max_steps=6, checkpoint_every=4,
             sample_every=100, log_every=2, eval_samples=0, seed=3, device="cpu", ema=0.9)


class Recorder:
    """A progress callback that keeps every call, and a stop check that fires after `stop_after` calls."""

    def __init__(self, stop_after=None):
        self.calls, self.stop_after = [], stop_after

    def __call__(self, step, total, **numbers):
        self.calls.append((step, total, numbers))

    def should_stop(self):
        return self.stop_after is not None and len(self.calls) >= self.stop_after

    @property
    def steps(self):
        return [c[0] for c in self.calls]


def _status(run_dir):
    return json.loads((run_dir / "status.json").read_text())


def _assert_complete(run_dir, tmp_path):
    assert scan_run(run_dir).problems == []
    page = build_report([run_dir], tmp_path / "r.html")
    assert page.is_file() and run_dir.name in page.read_text()


def test_train_reports_progress_and_finishes_the_run_folder(tmp_path):
    rec = Recorder()
    r = train.run(GanTrainSettings(**SMALL), tmp_path / "run", progress=rec, command="vislab gan train ...")
    assert r.status == "ok" and r.steps == r.total_steps == 6
    assert rec.steps == [1, 2, 3, 4, 5, 6] and {c[1] for c in rec.calls} == {6}
    assert "d_loss" not in rec.calls[0][2] and set(rec.calls[1][2]) == {"d_loss", "g_loss"}  # logged at step 2
    assert rec.calls[-1][2]["d_loss"] == r.d_loss == r.numbers["d_loss"]
    assert set(r.files) == {"checkpoint", "samples", "losses"} and all(p.is_file() for p in r.files.values())
    status = _status(r.run_dir)
    assert status["status"] == "ok" and status["files"]["checkpoint"] == "checkpoint.pt"
    config = json.loads((r.run_dir / "config.json").read_text())
    assert config["command"] == "vislab gan train ..." and config["kind"] == "gan-train"
    assert config["config"]["lr"] == GanTrainSettings.DEFAULTS["lr"]  # None filled with the default
    _assert_complete(r.run_dir, tmp_path)


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_a_stopped_training_resumes_to_the_uninterrupted_weights(tmp_path, arch):
    settings = GanTrainSettings(**{**SMALL, "arch": arch})
    full = train.run(settings, tmp_path / "full")
    rec = Recorder(stop_after=3)
    cut = train.run(settings, tmp_path / "cut", progress=rec, should_stop=rec.should_stop)
    assert cut.status == "cancelled" and cut.cancelled and rec.steps == [1, 2, 3] and cut.steps == 3
    assert _status(cut.run_dir)["status"] == "cancelled"
    assert load_checkpoint(cut.checkpoint, kind="gan")["step"] == 3  # saved where it stopped, not at step 0
    _assert_complete(cut.run_dir, tmp_path)

    done = train.run(GanTrainSettings(resume=str(cut.run_dir), device="cpu"))  # the rest from the checkpoint
    assert done.status == "ok" and done.run_dir == cut.run_dir and done.steps == 6
    a, b = (load_checkpoint(x.checkpoint, kind="gan") for x in (full, done))
    for key in ("generator", "discriminator", "generator_ema"):
        for name, t in a[key].items():
            assert torch.equal(t, b[key][name]), (key, name)
    losses = [[(m["step"], m["d_loss"]) for m in read_metrics(x.run_dir) if "d_loss" in m] for x in (full, done)]
    assert losses[0] == losses[1] and len(losses[0]) == 3
    history = json.loads((cut.run_dir / "config.json").read_text())["history"]
    assert [h["action"] for h in history] == ["resume"]


def test_resume_takes_left_out_settings_from_the_checkpoint(tmp_path):
    first = train.run(GanTrainSettings(**{**SMALL, "max_steps": 2, "lr": 5e-4, "beta1": 0.3}), tmp_path / "a")
    more = train.run(GanTrainSettings(resume=str(first.run_dir), max_steps=4, lr=2e-4, device="cpu"))
    saved = load_checkpoint(more.checkpoint, kind="gan")["config"]
    assert (saved["lr"], saved["beta1"], saved["noise_dim"], saved["max_steps"]) == (2e-4, 0.3, 16, 4)
    assert more.steps == 4
    history = json.loads((first.run_dir / "config.json").read_text())["history"]
    assert history[-1]["changed"]["lr"] == 2e-4 and "beta1" not in history[-1]["changed"]


def test_resume_into_another_folder_starts_a_run_folder_there(tmp_path):
    first = train.run(GanTrainSettings(**{**SMALL, "max_steps": 2}), tmp_path / "a")
    other = train.run(GanTrainSettings(resume=str(first.checkpoint), max_steps=4, device="cpu"), tmp_path / "b")
    assert other.run_dir == tmp_path / "b" and other.steps == 4
    assert [m["step"] for m in read_metrics(other.run_dir) if "d_loss" in m] == [4]
    assert load_checkpoint(first.checkpoint, kind="gan")["step"] == 2  # the original run is left as it was


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train.run(TrainConfig(**{**SMALL, "max_steps": 2}), tmp_path_factory.mktemp("g") / "run")


def test_sample_writes_a_complete_run_folder_and_the_output_copy(trained, tmp_path):
    rec = Recorder()
    out = tmp_path / "grid.png"
    r = sample.run(GanSampleSettings(checkpoint=str(trained.run_dir), n=1100, output=str(out)), tmp_path / "s",
                   progress=rec)
    assert r.status == "ok" and r.samples == 1100 and r.output == out and out.is_file()
    assert rec.steps == [500, 1000, 1100] and {c[1] for c in rec.calls} == {1100}
    assert out.read_bytes() == r.files["grid"].read_bytes()  # the run folder holds the same grid
    assert _status(r.run_dir)["files"]["output"] == str(out)
    assert read_config(r.run_dir)["generator"] == r.generator == "ema"
    _assert_complete(r.run_dir, tmp_path)


def test_a_stopped_sample_keeps_the_partial_grid_in_the_run_folder_only(trained, tmp_path):
    from PIL import Image

    rec = Recorder(stop_after=1)
    out = tmp_path / "grid.png"
    r = sample.run(GanSampleSettings(checkpoint=str(trained.checkpoint), n=1100, output=str(out)),
                   tmp_path / "s", progress=rec, should_stop=rec.should_stop)
    assert r.status == "cancelled" and r.samples == 500 and r.output is None and not out.exists()
    assert _status(r.run_dir)["status"] == "cancelled"
    assert Image.open(r.files["grid"]).size == (23 * 30 + 2, 22 * 30 + 2)  # 500 samples: 23 per row
    _assert_complete(r.run_dir, tmp_path)


def test_eval_reports_progress_and_a_stopped_eval_scores_what_it_drew(trained, tmp_path, scorer_cache):
    rec = Recorder()
    r = score.run(GanEvalSettings(checkpoint=str(trained.run_dir), n=600), tmp_path / "e", progress=rec)
    assert r.status == "ok" and rec.steps == [500, 600] and r.scores["n"] == 600
    assert json.loads(r.files["scores"].read_text()) == r.scores
    assert r.numbers["mnist_score"] == r.scores["mnist_score"] and sum(r.scores["class_histogram"]) == 600
    _assert_complete(r.run_dir, tmp_path)

    rec = Recorder(stop_after=1)
    r = score.run(GanEvalSettings(checkpoint=str(trained.run_dir), n=600), tmp_path / "e2", progress=rec,
                  should_stop=rec.should_stop)
    assert r.status == "cancelled" and r.scores["n"] == 500
    assert _status(r.run_dir)["status"] == "cancelled"
    _assert_complete(r.run_dir, tmp_path)


def _parsed(*argv):
    return build_parser().parse_args(["gan", *argv])


@pytest.mark.parametrize("argv,cls", [(["train"], GanTrainSettings),
                                      (["sample", "--checkpoint", "x"], GanSampleSettings),
                                      (["eval", "--checkpoint", "x"], GanEvalSettings)])
def test_cli_flag_defaults_are_the_settings_defaults(argv, cls):
    args = _parsed(*argv)
    fresh = cls()
    for name in cls.setting_names():
        if name == "checkpoint":
            continue
        assert hasattr(args, name), name  # every setting has its flag
        assert getattr(args, name) == getattr(fresh, name), name


def test_train_help_shows_the_settings_defaults():
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices["gan"]._subparsers._group_actions[0].choices["train"]
    helps = {a.dest: a.help for a in sub._actions}
    for name, value in GanTrainSettings.DEFAULTS.items():
        if value is None or isinstance(value, bool):
            continue
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        assert f"default {shown}" in helps[name], (name, helps[name])


def test_cli_sample_with_output_leaves_a_complete_run_folder(cli, trained, tmp_path):
    out, run = tmp_path / "grid.png", tmp_path / "s"
    r = cli("gan", "sample", "--checkpoint", trained.run_dir, "-o", out, "--out", run, "--quiet")
    assert r.rc == 0, r.err
    assert r.out.strip() == str(out) and out.is_file()
    assert sorted(p.name for p in run.iterdir() if not p.name.startswith(".")) == [
        "config.json", "metrics.jsonl", "samples.png", "status.json"]
    assert scan_run(run).problems == [] and scan_run(run).state == "complete"
