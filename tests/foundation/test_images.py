"""vislab.images: every format and mode loads as RGB in [0, 1]; bad files fail with an ImageError naming the path."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from vislab import images
from vislab.errors import ImageError

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)


@pytest.mark.parametrize("suffix,fmt", [(".png", "PNG"), (".bmp", "BMP"), (".tif", "TIFF"), (".webp", "WEBP")])
def test_lossless_formats_roundtrip_exactly(tmp_path, suffix, fmt):
    path = tmp_path / f"x{suffix}"
    kwargs = {"lossless": True} if fmt == "WEBP" else {}
    Image.fromarray(RGB).save(path, format=fmt, **kwargs)
    img = images.load_image(path)
    assert img.dtype == torch.float32 and img.shape == (3, 12, 16)
    np.testing.assert_array_equal(images.to_uint8(img), RGB)


def test_jpeg_loads_close_to_source(tmp_path):
    smooth = np.tile(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], (32, 1, 3))
    path = tmp_path / "x.jpg"
    Image.fromarray(smooth).save(path, quality=95)
    img = images.load_image(path)
    assert img.shape == (3, 32, 64)
    assert np.abs(images.to_uint8(img).astype(int) - smooth).mean() < 3


def test_gif_first_frame(tmp_path):
    frames = [Image.new("P", (8, 8), i) for i in (10, 200)]
    for f in frames:
        f.putpalette([v for i in range(256) for v in (i, 0, 255 - i)])
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    img = images.to_uint8(images.load_image(path))
    np.testing.assert_array_equal(img[0, 0], [10, 0, 245])


def test_grayscale_is_replicated_to_rgb(tmp_path):
    g = RNG.integers(0, 256, size=(5, 7), dtype=np.uint8)
    Image.fromarray(g, mode="L").save(tmp_path / "g.png")
    img = images.to_uint8(images.load_image(tmp_path / "g.png"))
    for c in range(3):
        np.testing.assert_array_equal(img[..., c], g)


def test_16bit_grayscale_uses_full_range(tmp_path):
    g = np.array([[0, 32768, 65535]], dtype=np.uint16)
    Image.fromarray(g).save(tmp_path / "g16.png")
    img = images.load_image(tmp_path / "g16.png")
    np.testing.assert_allclose(img[0, 0].numpy(), [0.0, 32768 / 65535, 1.0], atol=1e-6)


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = [255, 0, 0, 255]  # opaque red stays red
    rgba[0, 1] = [0, 0, 0, 0]  # fully transparent -> white
    rgba[1, 0] = [0, 0, 0, 128]  # half-transparent black -> mid grey
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    img = images.to_uint8(images.load_image(tmp_path / "a.png")).astype(int)
    assert img[0, 0].tolist() == [255, 0, 0]
    assert img[0, 1].tolist() == [255, 255, 255]
    assert all(abs(v - 127) <= 1 for v in img[1, 0])


def test_palette_with_transparency(tmp_path):
    p = Image.new("P", (2, 1))
    p.putpalette([0, 0, 255, 0, 255, 0] + [0] * 762)
    p.putpixel((0, 0), 0)
    p.putpixel((1, 0), 1)
    p.info["transparency"] = 0
    p.save(tmp_path / "p.png", transparency=0)
    img = images.to_uint8(images.load_image(tmp_path / "p.png"))
    assert img[0, 0].tolist() == [255, 255, 255]
    assert img[0, 1].tolist() == [0, 255, 0]


def test_cmyk_jpeg(tmp_path):
    Image.new("CMYK", (4, 4), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=100)  # pure red in CMYK
    img = images.to_uint8(images.load_image(tmp_path / "c.jpg")).astype(int)
    assert img[..., 0].min() > 240 and img[..., 1].max() < 15 and img[..., 2].max() < 15


def test_exif_orientation_is_applied(tmp_path):
    arr = np.zeros((10, 20, 3), dtype=np.uint8)
    arr[:, :10] = 255  # left half white
    im = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    im.save(tmp_path / "r.jpg", exif=exif, quality=100)
    img = images.to_uint8(images.load_image(tmp_path / "r.jpg"))
    assert img.shape == (20, 10, 3)  # displayed upright: portrait
    assert img[:8].mean() > 200 and img[-8:].mean() < 50  # the white half is now on top


def _png_with_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (a decompression-bomb shape) without the pixel data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b"\x00" * 16))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + chunk(b"IEND", b"")


def test_decompression_bomb_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_with_size(20_000, 20_000))
    with pytest.raises(ImageError, match=r"bomb\.png.*400\.0 megapixels.*limit of 100"):
        images.load_image(path)


def test_limit_is_settable(tmp_path, monkeypatch):
    Image.fromarray(RGB).save(tmp_path / "x.png")
    with pytest.raises(ImageError, match="megapixels"):
        images.load_image(tmp_path / "x.png", max_pixels=100)
    monkeypatch.setenv("VISLAB_MAX_PIXELS", "100")
    with pytest.raises(ImageError, match="megapixels"):
        images.load_image(tmp_path / "x.png")
    monkeypatch.setenv("VISLAB_MAX_PIXELS", "0")  # 0 disables the check
    assert images.load_image(tmp_path / "x.png").shape == (3, 12, 16)


def _truncated_jpeg(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(RNG.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)).save(buf, format="JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return path


def test_bad_files_raise_image_error_naming_the_path(tmp_path):
    (tmp_path / "notes.txt").write_text("hello, not an image")
    (tmp_path / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
    cases = {
        tmp_path / "missing.png": "no such file",
        tmp_path: "directory",
        tmp_path / "notes.txt": "not an image",
        tmp_path / "garbage.png": "corrupt",
        _truncated_jpeg(tmp_path): "truncated",
    }
    for path, what in cases.items():
        with pytest.raises(ImageError) as e:
            images.load_image(path)
        assert str(path) in str(e.value) and what in str(e.value), str(e.value)


def test_save_is_atomic_and_leaves_nothing_on_failure(tmp_path, monkeypatch):
    out = tmp_path / "out.png"
    images.save_image(torch.rand(3, 5, 6), out)
    before = out.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(ImageError, match="disk full"):
        images.save_image(torch.zeros(3, 5, 6), out)
    assert out.read_bytes() == before  # old file untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # no temp file left behind


def test_save_refuses_nan(tmp_path):
    img = torch.rand(3, 4, 4)
    img[0, 0, 0] = float("nan")
    with pytest.raises(ImageError, match="NaN"):
        images.save_image(img, tmp_path / "x.png")
    assert not list(tmp_path.iterdir())


def test_png_save_roundtrip_is_lossless_in_8_bits(tmp_path):
    img = torch.from_numpy(RGB.transpose(2, 0, 1).astype(np.float32) / 255)
    images.save_image(img, tmp_path / "r.png")
    assert torch.equal(images.load_image(tmp_path / "r.png"), img)


def test_resize_center_crop_and_grid():
    img = torch.rand(3, 40, 80)
    r = images.resize(img, 20)
    assert r.shape == (3, 20, 40)
    c = images.center_crop(torch.arange(36.0).view(1, 6, 6).expand(3, 6, 6), 2)
    assert c[0].tolist() == [[14.0, 15.0], [20.0, 21.0]]
    assert images.resize_center_crop(img, 16).shape == (3, 16, 16)
    grid = images.make_grid(torch.zeros(5, 1, 4, 4), nrow=3, padding=1, pad_value=1.0)
    assert grid.shape == (3, 2 * 5 + 1, 3 * 5 + 1)
    assert grid[:, 1:5, 1:5].abs().sum() == 0 and grid[:, 0].min() == 1.0
    assert grid[:, 6:10, 11:15].min() == 1.0  # the empty sixth cell stays padding


def test_colorize_and_overlay_ranges():
    heat = torch.tensor([[0.0, 1.0], [2.0, 4.0]])
    col = images.colorize(heat, "gray")
    assert torch.allclose(col[0], torch.tensor([[0.0, 0.25], [0.5, 1.0]]), atol=0.01)
    over = images.overlay(torch.zeros(3, 4, 4), heat, alpha=1.0, cmap="gray")
    assert over.shape == (3, 4, 4) and 0.0 <= over.min() and over.max() <= 1.0


def test_sample_images_load():
    coffee = images.load_image("sample:coffee")
    assert coffee.shape == (3, 400, 600)
    assert images.load_image("sample:grace_hopper").shape[0] == 3
    with pytest.raises(ImageError, match="unknown sample"):
        images.load_image("sample:nope")
