"""quality/cs231n_notebooks.py's rules (rewrite, stated orders, classification) on a small synthetic notebook."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runner():
    spec = importlib.util.spec_from_file_location("cs231n_notebooks", ROOT / "quality" / "cs231n_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["cs231n_notebooks"] = mod
    spec.loader.exec_module(mod)
    yield mod
    sys.modules.pop("cs231n_notebooks", None)


def test_rewrite_changes_only_the_import_lines_and_the_checks_path(runner):
    src = ("%matplotlib inline\n!pip install h5py\nfrom cs231n.rnn_layers import *\nx = 'from cs231n'\n"
           "CHECKS_PATH = None")
    assert runner.rewrite(src, "/r/style-transfer-checks.npz").splitlines() == [
        "from vislab.cs231n.rnn_layers import *", "x = 'from cs231n'", "CHECKS_PATH = '/r/style-transfer-checks.npz'"]


def test_stated_orders_and_printed_values(runner):
    md = ("You should see errors on the order of `e-8` or less. (For `dWh`, it's fine if your error is on the order "
          "of `e-6` or less). This should require adding less than 10 lines of code.")
    assert runner.stated_limits(md) == {"error": 1e-5}
    assert runner.stated_limits("Test your TV loss implementation. Error should be less  than 0.0001.") == \
        {"error": 1e-4}
    assert runner.stated_limits("You should see a final loss of less than 0.1.") == {"final loss": 0.1}
    out = "loss:  9.83\nexpected loss:  9.83235591003\ndifference:  2.6e-12\ndx error:  3e-09\nFinal loss:  0.08"
    assert runner.printed_values(out) == [("error", "difference:  2.6e-12", 2.6e-12),
                                          ("error", "dx error:  3e-09", 3e-09),
                                          ("final loss", "Final loss:  0.08", 0.08)]


def test_stubs_and_their_removal(runner):
    given = "def a(x):\n    return 2 * x\n\ndef b(x):\n    loss = None\n    return loss\n\n"
    assert runner.stub_functions(given) == {"b"}
    broken = "def c():\n    m = nn.Sequential(\n        # YOUR CODE\n        pass\n    )\n    return m\n\ny = c()\n"
    assert runner.stub_functions(broken) == {"c"}  # does not parse: the exercise's def lines
    assert runner.stub_functions(broken.replace("# YOUR CODE", "")) == set()
    assert runner.drop_defs(given + broken, {"c"}).rstrip().endswith("return loss\n\ny = c()")


def test_a_notebook_run_classifies_each_cell(runner, tmp_path):
    cells = [
        ("code", "from cs231n.gradient_check import eval_numerical_gradient_array\nimport numpy as np"),
        ("code", "import torchvision\nz = 1"),  # environment, and the cell goes on
        ("code", "print(torchvision.__name__)"),  # a name the environment cell would have defined
        ("markdown", "You should see errors on the order of e-8 or less."),
        ("code", "x = np.array([1.0, 2.0])\n"
                 "g = eval_numerical_gradient_array(lambda x: x ** 2, x, np.ones(2))\n"
                 "print('dx error: ', float(np.max(np.abs(g - 2 * x))))"),
        ("code", "print('dx error: ', 1e-3)"),  # same stated order, value above it
        ("code", "def sample_noise(n, d):\n    pass\n"),
        ("code", "sample_noise(2, 3).shape"),  # a stub's None
        ("code", "from cs231n.nothing import x"),  # vislab lacks it
        ("code", "print(z)"),
    ]
    nb = {"cells": [{"cell_type": t, "source": s, "metadata": {}} for t, s in cells], "nbformat": 4}
    path = tmp_path / "N.ipynb"
    path.write_text(json.dumps(nb))
    got = [(r.index, r.status) for r in runner.run_notebook(path, answers=False, stand_in=False, cell_timeout=60)]
    assert got == [(0, "ok"), (1, "environment"), (2, "environment"), (4, "ok"), (5, "vislab"), (6, "ok"),
                   (7, "todo"), (8, "vislab"), (9, "ok")]
    answered = runner.run_notebook(path, answers=True, stand_in=False, cell_timeout=60)
    assert [r.status for r in answered if r.index == 7] == ["ok"]  # vislab.cs231n.gan_pytorch.sample_noise


def test_the_2019_notebooks_torchvision_preprocess_on_the_stand_in_is_vislabs(runner):
    import numpy as np
    import torch
    from PIL import Image

    from vislab.cs231n.image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD
    from vislab.cs231n.net_visualization_pytorch import deprocess, preprocess, rescale

    T = runner._transforms()
    # the 2019 NetVis notebook's own cell, verbatim but for the T namespace
    nb_pre = T.Compose([T.Resize(224), T.ToTensor(),
                        T.Normalize(mean=SQUEEZENET_MEAN.tolist(), std=SQUEEZENET_STD.tolist()),
                        T.Lambda(lambda x: x[None])])
    nb_de = T.Compose([T.Lambda(lambda x: x[0]), T.Normalize(mean=[0, 0, 0], std=(1.0 / SQUEEZENET_STD).tolist()),
                       T.Normalize(mean=(-SQUEEZENET_MEAN).tolist(), std=[1, 1, 1]), T.Lambda(rescale),
                       T.ToPILImage()])
    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (240, 300, 3), dtype=np.uint8))
    x = nb_pre(img)
    assert x.shape == (1, 3, 224, 280) and torch.allclose(x, preprocess(img), atol=1e-6)
    assert np.array_equal(np.asarray(nb_de(x)), np.asarray(deprocess(x)))
