"""vislab.cs231n.image_utils: image_from_url (offline sources, a mocked http server, one-line errors) and the
course's 3x3 blur_image, against closed forms."""

import io
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import correlate

from vislab.captioning import shapes
from vislab.cs231n import image_utils
from vislab.cs231n.image_utils import blur_image, image_from_url
from vislab.errors import ImageError


@pytest.fixture
def png(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    path = tmp_path / "a b.png"  # a space: file:// URLs quote it
    Image.fromarray(arr).save(path)
    return path, arr


def test_local_path_and_file_url(png):
    path, arr = png
    assert np.array_equal(image_from_url(str(path)), arr)
    assert np.array_equal(image_from_url(path.as_uri()), arr)
    gray = path.with_name("g.png")
    Image.fromarray(arr[..., 0]).save(gray)
    out = image_from_url(str(gray))
    assert out.shape == (12, 16, 3) and np.array_equal(out[..., 2], arr[..., 0])  # always RGB


def test_shapes_names_are_the_stand_ins_pictures():
    ds = shapes.make_shapes(6, seed=0, image_size=128)
    assert np.array_equal(image_from_url("shapes:5"), ds.image(5))
    with pytest.raises(ImageError, match="shapes:x: not a shapes picture name"):
        image_from_url("shapes:x")


class _Response(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_http_downloads_with_a_timeout(png, monkeypatch):
    _, arr = png
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    seen = {}

    def fake_urlopen(url, timeout=None):
        seen.update(url=url, timeout=timeout)
        return _Response(buf.getvalue())

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    assert np.array_equal(image_from_url("http://example.org/x.png"), arr)
    assert seen == {"url": "http://example.org/x.png", "timeout": image_utils.URL_TIMEOUT_S}

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: _Response(b"<html>"))
    with pytest.raises(ImageError, match=r"^https://example.org/y.jpg: not an image file"):
        image_from_url("https://example.org/y.jpg")


@pytest.mark.parametrize("exc, fragment", [
    (urllib.error.URLError("Name or service not known"), "cannot be downloaded (Name or service not known"),
    (urllib.error.HTTPError("http://h/x.jpg", 404, "Not Found", {}, None), "HTTP error 404 (Not Found)"),
    (TimeoutError("timed out"), "cannot be downloaded (timed out)"),
])
def test_download_failures_are_one_line_image_errors(monkeypatch, exc, fragment):
    def fail(url, timeout=None):
        raise exc

    monkeypatch.setattr(urllib.request, "urlopen", fail)
    with pytest.raises(ImageError) as info:
        image_from_url("http://h/x.jpg")
    msg = str(info.value)
    assert msg.startswith("http://h/x.jpg: ") and fragment in msg and "\n" not in msg


def test_missing_file_and_unknown_scheme():
    with pytest.raises(ImageError, match="no such file"):
        image_from_url("/no/such/picture.jpg")
    with pytest.raises(ImageError, match="unsupported URL scheme 'ftp'"):
        image_from_url("ftp://host/x.jpg")


def test_blur_image_is_the_courses_3x3_kernel_with_zero_padding():
    X = np.random.default_rng(1).standard_normal((2, 3, 7, 9))
    k = np.array([[1, 2, 1], [2, 188, 2], [1, 2, 1]]) / 200.0
    out = blur_image(X)
    assert out.shape == X.shape
    for n in range(2):
        for c in range(3):  # each channel on its own (the course's w_blur[i, i])
            assert np.allclose(out[n, c], correlate(X[n, c], k, mode="constant", cval=0.0), atol=1e-12)
