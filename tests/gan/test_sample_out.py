"""`gan sample -o`: a complete run folder or none. Sampling that fails after the folder was started (here: the
-o folder vanishes mid-way, or the user presses Ctrl-C) leaves no folder holding config.json alone."""

import shutil

import pytest

from vislab.errors import ImageError
from vislab.gan import sample, train
from vislab.gan.settings import GanSampleSettings, TrainConfig
from vislab.report.scan import scan_run

SMALL = dict(arch="mlp", loss="bce", data="digits", batch_size=8, noise_dim=16, max_steps=2, checkpoint_every=4,
             sample_every=100, log_every=2, eval_samples=0, seed=3, device="cpu")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train.run(TrainConfig(**SMALL), tmp_path_factory.mktemp("g") / "run")


def test_an_output_folder_that_vanishes_leaves_no_half_run(trained, tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()

    def replace_the_folder_by_a_file(*_a, **_k):  # checked before sampling, gone by the time the grid is saved
        shutil.rmtree(gone, ignore_errors=True)
        gone.write_text("not a folder any more")

    settings = GanSampleSettings(checkpoint=str(trained.run_dir), n=600, output=str(gone / "grid.png"))
    with pytest.raises(ImageError, match="cannot write image"):
        sample.run(settings, tmp_path / "s", progress=replace_the_folder_by_a_file)
    assert not (tmp_path / "s").exists()


def test_an_interrupted_sample_into_a_given_empty_folder_leaves_it_empty(trained, tmp_path):
    (tmp_path / "s").mkdir()

    def interrupt(*_a, **_k):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sample.run(GanSampleSettings(checkpoint=str(trained.run_dir), n=600), tmp_path / "s", progress=interrupt)
    assert [p.name for p in (tmp_path / "s").iterdir() if not p.name.startswith(".")] == []


def test_cli_sample_o_without_out_makes_one_complete_run(cli, trained, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = cli("gan", "sample", "--checkpoint", trained.run_dir, "-o", "grid.png", "--quiet")
    assert r.rc == 0, r.err
    made = list((tmp_path / "runs").iterdir())
    assert len(made) == 1 and scan_run(made[0]).state == "complete" and (tmp_path / "grid.png").is_file()
