"""StyleTransfer-PyTorch notebook checks (style-transfer-checks.npz) and the image_utils adapters.

The content/Gram/style checks compare against losses of SqueezeNet 1.1 features: they need the weights file
(``$VISLAB_SQUEEZENET_WEIGHTS`` or the torch hub cache) and skip without it. The TV check needs only the image.
"""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from vislab.cs231n import rel_error
from vislab.cs231n.image_utils import (
    SQUEEZENET_MEAN,
    SQUEEZENET_STD,
    deprocess,
    load_image,
    preprocess,
    preprocess_image,
)
from vislab.cs231n.style_transfer_pytorch import (
    WEIGHTS_ENV,
    content_loss,
    default_cnn,
    extract_features,
    features_from_img,
    gram_matrix,
    squeezenet_weights,
    style_loss,
    style_transfer,
    tv_loss,
)

TOL = 5e-4  # the notebook prints "Maximum error is {:.3f}" and expects 0.000


@pytest.fixture
def checks(shared_data):
    path = shared_data / "cs231n_checks" / "style-transfer-checks.npz"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return np.load(path)


@pytest.fixture
def images(shared_data):
    content, style = shared_data / "content" / "tubingen.jpg", shared_data / "styles" / "starry_night.jpg"
    if not (content.is_file() and style.is_file()):
        pytest.skip("tubingen.jpg / starry_night.jpg not in the shared data")
    return content, style


@pytest.fixture
def squeezenet(images):
    if squeezenet_weights() is None:
        pytest.skip(f"needs SqueezeNet 1.1 features: no weights file (set {WEIGHTS_ENV}=squeezenet1_1-b8a52dc0.pth)")
    return default_cnn()


# -- the notebook's check cells -------------------------------------------------------------------------------
def test_tv_loss_notebook_check(checks, images):
    content_img = preprocess(Image.open(images[0]), size=192)
    out = tv_loss(content_img, 2e-2).numpy()
    assert rel_error(checks["tv_out"], out) < TOL


def test_content_loss_notebook_check(checks, images, squeezenet):
    content_img = preprocess(Image.open(images[0]), size=192)
    c_feats = extract_features(content_img, squeezenet)
    bad_feats = extract_features(torch.zeros(*content_img.size()), squeezenet)
    out = content_loss(6e-2, c_feats[3], bad_feats[3]).numpy()
    assert rel_error(checks["cl_out"], out) < TOL


def test_gram_matrix_notebook_check(checks, images, squeezenet):
    feats, _ = features_from_img(images[1], 192)
    out = gram_matrix(feats[5].clone()).numpy()
    assert rel_error(checks["gm_out"], out) < TOL


def test_style_loss_notebook_check(checks, images, squeezenet):
    layers, weights = [1, 4, 6, 7], [300000, 1000, 15, 3]
    c_feats, _ = features_from_img(images[0], 192)
    feats, _ = features_from_img(images[1], 192)
    targets = [gram_matrix(feats[i].clone()) for i in layers]
    out = style_loss(c_feats, layers, targets, weights).numpy()
    assert rel_error(checks["sl_out"], out) < TOL


# -- closed forms ---------------------------------------------------------------------------------------------
def test_losses_are_the_course_sums():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 4, 5, 6, generator=g), torch.randn(2, 4, 5, 6, generator=g)
    assert torch.allclose(content_loss(0.3, a, b), 0.3 * ((a - b) ** 2).sum())
    f = a.reshape(2, 4, 30)
    assert torch.allclose(gram_matrix(a), f @ f.transpose(1, 2) / 120)
    assert torch.allclose(gram_matrix(a, normalize=False), f @ f.transpose(1, 2))
    feats = [a, b]
    t = [gram_matrix(b), gram_matrix(a)]
    want = 2.0 * ((gram_matrix(a) - t[0]) ** 2).sum() + 5.0 * ((gram_matrix(b) - t[1]) ** 2).sum()
    assert torch.allclose(style_loss(feats, [0, 1], t, [2.0, 5.0]), want)
    tv = ((a[:, :, 1:] - a[:, :, :-1]) ** 2).sum() + ((a[..., 1:] - a[..., :-1]) ** 2).sum()
    assert torch.allclose(tv_loss(a, 0.7), 0.7 * tv)


def _tiny_cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, padding=1),
                         nn.ReLU()).eval()


def test_extract_features_lists_every_child_output():
    cnn, x = _tiny_cnn(), torch.randn(1, 3, 8, 8)
    feats = extract_features(x, cnn)
    assert len(feats) == 5
    for i, f in enumerate(feats):
        assert torch.equal(f, cnn[: i + 1](x))


def _write_images(tmp_path):
    rng = np.random.default_rng(0)
    c, s = tmp_path / "c.png", tmp_path / "s.png"
    Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(c)
    Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(s)
    return c, s


def test_features_from_img_and_style_transfer_with_a_given_cnn(tmp_path, capsys):
    c, s = _write_images(tmp_path)
    cnn = _tiny_cnn()
    feats, img = features_from_img(c, 16, cnn=cnn)
    assert img.shape == (1, 3, 16, 24) and torch.equal(feats[-1], cnn(img))
    out = style_transfer(c, s, 16, 16, 3, 1e-2, [1, 4], [10.0, 1.0], 1e-3, cnn=cnn)
    assert isinstance(out, Image.Image) and out.size == (24, 16)
    assert "Iteration 0" in capsys.readouterr().out
    assert style_transfer(c, s, 16, 16, 3, 1e-2, [1], [1.0], 1e-3, init_random=True, cnn=cnn,
                          verbose=False).size == (24, 16)


def test_default_cnn_without_weights_is_the_default_backbone(monkeypatch, tmp_path):
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "missing.pth"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert squeezenet_weights() is None
    cnn = default_cnn()
    feats = extract_features(torch.zeros(1, 3, 64, 64), cnn)
    assert len(feats) == len(list(cnn.children())) >= 8


def test_default_cnn_reads_the_weights_file_named_by_the_env_var(monkeypatch, tmp_path):
    from vislab.backbones.squeezenet import SqueezeNet11

    path = tmp_path / "sq.pth"
    torch.manual_seed(0)
    net = SqueezeNet11()
    torch.save(net.state_dict(), path)
    monkeypatch.setenv(WEIGHTS_ENV, str(path))
    assert squeezenet_weights() == str(path)
    cnn = default_cnn()
    assert len(list(cnn.children())) == 13
    x = torch.randn(1, 3, 64, 64)
    assert torch.allclose(extract_features(x, cnn)[-1], net.eval().features(x))


# -- image_utils -----------------------------------------------------------------------------------------------
def test_preprocess_deprocess(tmp_path):
    arr = np.random.default_rng(1).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    x = preprocess(Image.fromarray(arr), size=30)
    assert x.shape == (1, 3, 30, 40) and x.dtype == torch.float32
    want = (arr / 255.0 - SQUEEZENET_MEAN) / SQUEEZENET_STD
    assert np.allclose(x[0].permute(1, 2, 0).numpy(), want, atol=1e-5)
    assert np.allclose(preprocess_image(arr), want, atol=1e-5)
    back = deprocess(x, should_rescale=False)
    # the course's torchvision steps in float32 numpy: x / (1 / std) + mean, then (255 x) truncated to 8 bits
    inv_std = np.array([1.0 / s for s in SQUEEZENET_STD.tolist()], dtype=np.float32)
    unnorm = x[0].permute(1, 2, 0).numpy() / inv_std + SQUEEZENET_MEAN
    assert isinstance(back, Image.Image) and np.array_equal(np.asarray(back), (unnorm * 255).astype(np.uint8))
    assert set(np.unique(np.asarray(back).astype(int) - arr)) <= {-1, 0}  # truncation, as the course
    r = np.asarray(deprocess(x)).astype(int)
    assert r.min() == 0 and r.max() == 255
    # rescaled values are truncated too: 0, 0.5, 1 -> 0, 127 (not 128), 255
    y = torch.tensor([0.0, 0.5, 1.0]).view(1, 1, 1, 3).expand(1, 3, 1, 3)
    y = (y - torch.from_numpy(SQUEEZENET_MEAN).view(1, 3, 1, 1)) / torch.from_numpy(SQUEEZENET_STD).view(1, 3, 1, 1)
    assert np.asarray(deprocess(y))[0, :, 0].tolist() == [0, 127, 255]
    assert preprocess(Image.fromarray(arr), size=15).shape == (1, 3, 15, 20)


def test_load_image(tmp_path):
    arr = np.random.default_rng(2).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    assert img.dtype == np.uint8 and np.array_equal(img, arr)
    assert load_image(str(tmp_path / "a.png"), size=15).shape == (15, 20, 3)
