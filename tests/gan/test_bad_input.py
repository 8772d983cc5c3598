"""Bad input to `gan train | sample | eval`: one `vislab: error:` line naming the flag, exit 2, nothing written."""

import os

import numpy as np
import pytest

from tests.conftest import assert_one_line_error
from vislab.gan import memory, train
from vislab.gan.settings import TrainConfig
from vislab.runs import load_checkpoint, save_checkpoint

TRAIN = ["gan", "train", "--data", "digits", "--quiet"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    r = train.run(TrainConfig(arch="mlp", data="digits", batch_size=8, noise_dim=16, max_steps=1, eval_samples=0,
                              device="cpu"), tmp_path_factory.mktemp("ck") / "run")
    return r.checkpoint


@pytest.fixture
def nothing_written(tmp_path, cli):
    """Run the CLI with --out tmp/out; assert the one-line error and that the folder was never made."""
    out = tmp_path / "out"

    def check(args, *fragments):
        r = cli(*args, "--out", out)
        assert_one_line_error(r, *fragments)
        assert not out.exists()
        return r
    return check


@pytest.mark.parametrize("flag,value,message", [
    ("--beta1", "5", "[0, 1)"), ("--beta1", "nan", "finite"), ("--beta2", "-0.5", "[0, 1)"),
    ("--ema", "1", "[0, 1)"), ("--ema", "-0.1", "[0, 1)"), ("--ema", "inf", "finite"),
    ("--lr", "inf", "finite"), ("--lr", "nan", "finite"), ("--lr", "0", "> 0"), ("--lr", "1e400", "finite"),
    ("--lr", "3", "<= 1"),
    ("--eval-samples", "-5", "or 0 (off)"), ("--eval-samples", "1", "from 2"),
    ("--seed", "1180591620717411303424", "<="), ("--seed", "-1", ">= 0"),
    ("--noise-dim", "0", "from 1"), ("--noise-dim", str(10**30), "2147483647"),
    ("--batch-size", "-3", "from 1"), ("--epochs", "0", "from 1"), ("--max-steps", "-1", "from 1"),
    ("--limit", "0", "from 1"), ("--sample-every", "0", "from 1"), ("--checkpoint-every", "-2", "from 1"),
    ("--log-every", "0", "from 1"), ("--arch", "vae", "mlp, dcgan"), ("--loss", "kl", "wgan-gp"),
])
def test_train_refuses_bad_numbers_and_choices(nothing_written, flag, value, message):
    nothing_written([*TRAIN, flag, value], f"{flag} ", message, value if value != "1e400" else "inf")


@pytest.mark.parametrize("flag,value", [("--batch-size", "1e400"), ("--epochs", "two"), ("--lr", "fast")])
def test_train_refuses_wrong_types(nothing_written, flag, value):
    nothing_written([*TRAIN, flag, value], flag, "invalid")


def test_sizes_that_cannot_fit_are_refused_with_the_estimate(nothing_written, checkpoint, monkeypatch):
    monkeypatch.setattr("vislab.machine.available_memory", lambda: 8 * 2**30)
    nothing_written([*TRAIN, "--noise-dim", "1000000000"], "--noise-dim 1000000000 is too large", "TiB",
                    "8.0 GiB is available")
    nothing_written([*TRAIN, "--eval-samples", "1000000000"], "--eval-samples 1000000000 is too large", "TiB")
    nothing_written(["gan", "sample", "--checkpoint", checkpoint, "-n", "50000000"], "-n 50000000 is too large",
                    "TiB of memory")
    nothing_written(["gan", "eval", "--checkpoint", checkpoint, "-n", "2000000000"], "-n 2000000000 is too large")
    nothing_written([*TRAIN, "--batch-size", "100000"], "--batch-size 100000", "1497 training images")


def test_memory_estimates_are_honest_orders_of_magnitude():
    g, d, ag, ad = memory.network_sizes("dcgan", 96)
    assert (g, d) == (6_675_009, 1_102_721)  # the networks' parameter counts (generator(96), classifier)
    assert ad > 28 * 28 and ag > 28 * 28  # every layer's output counts, the image among them
    mb = sum(memory.train_bytes("dcgan", 96, 128, 60000, 5000).values()) / 2**20
    assert 100 < mb < 1000  # a default MNIST run: a few hundred MB
    # measured peak (RSS above the ~330 MB of an idle process): 0.7 GB for 20,000 samples, 3.5 GB for 100,000
    assert memory.sample_bytes(64) < 8 * 2**20
    assert 0.7 < memory.sample_bytes(20_000) / 2**30 < 2 and 3.5 < memory.sample_bytes(10**5) / 2**30 < 8


@pytest.mark.parametrize("command", ["sample", "eval"])
def test_bad_sample_counts_and_seeds(nothing_written, checkpoint, command):
    base = ["gan", command, "--checkpoint", checkpoint]
    nothing_written([*base, "-n", "0"], "-n ", "got 0")
    nothing_written([*base, "-n", "-4"], "-n ", "got -4")
    nothing_written([*base, "--seed", str(2**70)], "--seed", "<=")


def test_eval_needs_two_samples(nothing_written, checkpoint):
    nothing_written(["gan", "eval", "--checkpoint", checkpoint, "-n", "1"], "-n ", "from 2", "covariance", "got 1")


def test_bad_checkpoints(nothing_written, tmp_path, checkpoint):
    fifo = tmp_path / "fifo.pt"
    os.mkfifo(fifo)
    other = tmp_path / "other.pt"
    save_checkpoint({"model": {}}, other, kind="captioning")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    for flag, command in (("--resume", [*TRAIN]), ("--checkpoint", ["gan", "sample"]),
                          ("--checkpoint", ["gan", "eval"])):
        nothing_written([*command, flag, fifo], f"{flag} ", "not a checkpoint file")  # and no hang
        nothing_written([*command, flag, other], f"{flag} ", "'captioning' checkpoint")
        nothing_written([*command, flag, junk], f"{flag} ", "not a readable checkpoint")
        nothing_written([*command, flag, tmp_path / "none.pt"], f"{flag} ", "no such checkpoint")
        nothing_written([*command, flag, tmp_path], f"{flag} ", "checkpoint.pt", "no such checkpoint")
    nothing_written([*TRAIN, "--resume", checkpoint, "--noise-dim", "32"], "--noise-dim 16 was used", "not 32")


def test_corrupt_mnist_folder(nothing_written, tmp_path):
    data = tmp_path / "mnist"
    data.mkdir()
    (data / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00broken gzip")
    (data / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05abcde")
    nothing_written(["gan", "train", "--data", data, "--quiet"], "train-images-idx3-ubyte.gz", "corrupt")
    nothing_written(["gan", "train", "--data", tmp_path / "missing", "--quiet"], "--data", "no such folder")


def _idx(array, magic):
    return magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape) + array.tobytes()


def test_a_corrupt_test_split_fails_before_the_scorer_would_train(nothing_written, tmp_path, monkeypatch,
                                                                  checkpoint):
    monkeypatch.setenv("VISLAB_CACHE", str(tmp_path / "cache"))  # no cached MNIST scorer
    data = tmp_path / "mnist"
    data.mkdir()
    rng = np.random.default_rng(0)
    (data / "train-images-idx3-ubyte").write_bytes(_idx(rng.integers(0, 256, (20, 28, 28), np.uint8), 2051))
    (data / "train-labels-idx1-ubyte").write_bytes(_idx(rng.integers(0, 10, 20, np.uint8), 2049))
    (data / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03 truncated")
    (data / "t10k-labels-idx1-ubyte").write_bytes(_idx(rng.integers(0, 10, 5, np.uint8), 2049))
    nothing_written(["gan", "train", "--data", data, "--batch-size", "8", "--quiet"], "t10k-images")
    # `gan eval` of an MNIST-trained generator trains the scorer from --data the first time when the shipped
    # scorer (vislab/assets) is missing
    from vislab.gan import evaluate

    monkeypatch.setattr(evaluate, "shipped_scorer_path", lambda dataset: tmp_path / "no-shipped-scorer.pt")
    state = load_checkpoint(checkpoint, kind="gan")
    state["dataset"] = "mnist"
    mnist_ckpt = tmp_path / "mnist.pt"
    save_checkpoint({k: v for k, v in state.items() if not k.startswith("vislab_")}, mnist_ckpt, kind="gan")
    nothing_written(["gan", "eval", "--checkpoint", mnist_ckpt, "--data", data], "t10k-images")


def test_outputs_that_cannot_be_written_are_found_before_sampling(nothing_written, tmp_path, checkpoint):
    base = ["gan", "sample", "--checkpoint", checkpoint, "-o"]
    nothing_written([*base, tmp_path / "missing" / "grid.png"], "--output", "does not exist")
    nothing_written([*base, tmp_path], "--output", "is a folder")
    nothing_written([*base, tmp_path / "grid.gif"], "--output", "unsupported image suffix")
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    nothing_written([*base, a_file / "grid.png"], "--output", "does not exist")
    if os.path.isdir("/proc/self"):  # a folder nobody can create files in, not even root
        nothing_written([*base, "/proc/grid.png"], "--output", "cannot write into /proc")
    nothing_written([*base, tmp_path / "g.webp", "-n", "400000"], "--output", "larger than .webp allows")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder(nothing_written, tmp_path, checkpoint):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        nothing_written(["gan", "sample", "--checkpoint", checkpoint, "-o", ro / "grid.png"], "--output",
                        "cannot write")
    finally:
        ro.chmod(0o755)


def test_a_folder_holding_another_run_is_left_untouched(cli, tmp_path, checkpoint):
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text('{"kind": "fool", "config": {}}')
    before = sorted(p.name for p in other.iterdir())
    for args in ([*TRAIN, "--max-steps", "1", "--eval-samples", "0"], ["gan", "sample", "--checkpoint", checkpoint],
                 ["gan", "train", "--resume", checkpoint, "--quiet"]):
        r = cli(*args, "--out", other)
        assert_one_line_error(r, "--out", "'fool'")
        assert sorted(p.name for p in other.iterdir() if p.name != ".vislab.lock") == before
