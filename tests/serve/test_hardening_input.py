"""Issue 22, what a request may ask for: form values typed once against the settings dataclasses (no job fails
with an internal error because of a form), and memory judged from image headers, per reference, before any
decoding (uploads and jobs refused in one line over ``--max-memory``)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from PIL import Image

from vislab.jobs import JobSettings, SettingError, settings_from_dict

from .conftest import H, make_client, png_bytes

# -- settings typed once ---------------------------------------------------------------------------------------


@dataclass
class Demo(JobSettings):
    name: str
    count: int = 1
    rate: float = 0.5
    sizes: tuple[int, ...] = ()
    names: list[str] = field(default_factory=list)
    limit: int | None = None
    target: str | int | None = None
    flag: bool = False


def test_settings_from_dict_converts_exactly_or_refuses_by_name():
    s = settings_from_dict(Demo, {"name": "a", "count": 3.0, "rate": 2, "sizes": [1, 2.0], "names": ("x",),
                                  "limit": None, "target": 7.0, "flag": True})
    assert (s.count, s.rate, s.sizes, s.names, s.limit, s.target, s.flag) == (3, 2.0, (1, 2), ["x"], None, 7, True)
    assert type(s.count) is int and type(s.rate) is float and type(s.sizes[1]) is int and type(s.target) is int
    assert settings_from_dict(Demo, {"name": "a", "target": "tabby"}).target == "tabby"
    for values, message in [
        ({"name": "a", "count": 3.5}, "count must be a whole number, got 3.5"),
        ({"name": "a", "count": True}, "count must be a whole number, got True"),
        ({"name": "a", "count": "3"}, "count must be a whole number, got '3'"),
        ({"name": "a", "count": float("inf")}, "count must be a whole number"),
        ({"name": "a", "rate": False}, "rate must be a number, got False"),
        ({"name": "a", "rate": "0.5"}, "rate must be a number"),
        ({"name": 5}, "name must be a string, got 5"),
        ({"name": "a", "sizes": 3}, "sizes must be a list, got 3"),
        ({"name": "a", "sizes": [1, 1.5]}, "sizes must be a whole number, got 1.5"),
        ({"name": "a", "names": [1]}, "names must be a string"),
        ({"name": "a", "limit": 2.5}, "limit must be a whole number, got 2.5"),
        ({"name": "a", "target": [1]}, "target must be a string or a whole number or null"),
        ({"name": "a", "flag": 1}, "flag must be true or false, got 1"),
        ({"name": "a", "colour": 1}, "colour is not a setting of Demo"),
        ({}, "name must be given"),
    ]:
        with pytest.raises(SettingError) as e:
            settings_from_dict(Demo, values)
        assert message in str(e.value), (values, str(e.value))


def test_settings_from_dict_runs_the_settings_own_validation():
    from vislab.backbones.classify_job import ClassifySettings

    with pytest.raises(SettingError, match="topk"):
        settings_from_dict(ClassifySettings, {"images": ["sample:coffee"], "topk": 0.0})
    assert settings_from_dict(ClassifySettings, {"images": ["sample:coffee"], "topk": 0.0}, validate=False).topk == 0


WHOLE_FLOATS = [  # every case of the row, each a setting typed int that JSON sent as a float
    ("classify", {"images": ["sample:coffee"], "topk": 3.0}, "topk"),
    ("dream", {"class_": "tarantula", "steps": 2.0, "size": 32.0}, "steps"),
    ("fool", {"image": "sample:chelsea", "target": "tarantula", "max_iters": 2.0}, "max_iters"),
    ("saliency", {"images": ["sample:coffee"], "method": "smoothgrad", "samples": 2.0}, "samples"),
    ("gan-sample", {"checkpoint": "gan", "n": 4.0, "seed": 1.0}, "n"),
    ("caption", {"images": ["sample:coffee"], "checkpoint": "cap", "beam": 2.0}, "beam"),
    ("style", {"content": "sample:chelsea", "styles": ["sample:astronaut"], "image_size": 32.0,
               "iterations": 3.0, "style_blend_weights": [1]}, "iterations"),
]


@pytest.mark.parametrize("kind, form, setting", WHOLE_FLOATS)
def test_whole_floats_become_ints_and_halves_are_refused(tmp_path, kind, form, setting):
    from vislab.serve.capabilities import build_settings

    s = build_settings(kind, form, tmp_path, lambda rel, k: str(tmp_path / rel))
    assert getattr(s, setting) == form[setting] and type(getattr(s, setting)) is int
    for bad in (form[setting] + 0.5, True):
        with pytest.raises(SettingError) as e:
            build_settings(kind, {**form, setting: bad}, tmp_path, lambda rel, k: str(tmp_path / rel))
        assert str(e.value).startswith(f"{setting} must be a whole number"), str(e.value)


def test_a_whole_float_from_the_page_runs_the_job(server):
    s = server.run("classify", images=["sample:coffee"], topk=3.0)
    assert s["state"] == "ok" and len(s["result"]["table"]) == 3, s
    config = json.loads((server.root / s["run"] / "config.json").read_text())
    assert config["config"]["topk"] == 3 and isinstance(config["config"]["topk"], int)
    r = server.submit("classify", images=["sample:coffee"], topk=3.5)
    assert r.status_code == 422 and r.json()["error"] == "topk must be a whole number, got 3.5"


# -- memory before decoding --------------------------------------------------------------------------------------

def _one_bit_png(side: int) -> bytes:
    buf = io.BytesIO()
    Image.new("1", (side, side)).save(buf, format="PNG")
    return buf.getvalue()


def test_image_header_reads_the_size_without_decoding(tmp_path, monkeypatch):
    from vislab import images

    p = tmp_path / "big.png"
    p.write_bytes(_one_bit_png(3000))
    assert images.image_header("sample:coffee") == (600, 400, "RGB")  # a sample: read once, then remembered

    def no_decoding(self, *a, **k):
        raise AssertionError("decoded")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    monkeypatch.setattr(images, "_to_rgb_array", no_decoding)
    assert images.image_header(p) == (3000, 3000, "1")
    assert images.decode_bytes(3000, 3000, "1") == 15 * 9_000_000


@pytest.mark.parametrize("mode", ["RGB", "L", "1", "P", "RGBA", "I;16"])
def test_the_lighter_decoding_gives_the_same_pixels(tmp_path, mode):
    """load_image's uint8-first path against PIL's own conversion to RGB divided by 255 (the former code), and
    load_rgb8 against load_image rounded back to 8 bits."""
    from vislab.images import load_image, load_rgb8, to_uint8

    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (30, 40, 4), dtype=np.uint8)
    im = {"RGB": Image.fromarray(arr[..., :3]), "L": Image.fromarray(arr[..., 0]),
          "1": Image.fromarray(arr[..., 0]).convert("1"), "P": Image.fromarray(arr[..., :3]).convert("P"),
          "RGBA": Image.fromarray(arr),
          "I;16": Image.fromarray(rng.integers(0, 65535, (30, 40), dtype=np.uint16))}[mode]
    p = tmp_path / "x.png"
    im.save(p)
    got = load_image(p)
    if mode == "RGBA":
        ref = Image.alpha_composite(Image.new("RGBA", im.size, (255,) * 4), im).convert("RGB")
    elif mode == "I;16":
        ref = None
        expected = np.asarray(Image.open(p), dtype=np.float64) / 65535.0
        assert np.array_equal(got[0].numpy(), expected.astype(np.float32))
    else:
        ref = im.convert("RGB")
    if ref is not None:
        expected = np.asarray(ref, dtype=np.float32) / 255.0
        assert torch.equal(got, torch.from_numpy(expected.transpose(2, 0, 1).copy()))
    assert np.array_equal(load_rgb8(p), to_uint8(got))


MB = 2**20


def test_a_job_naming_one_upload_three_times_is_refused_before_decoding(tmp_path, monkeypatch):
    """The issue's amplification, scaled down: a 1-bit PNG of 2000x2000 (a few kB) needs 60 MB to decode and
    48 MB a copy once decoded; with a 100 MB limit the upload and a job naming it once pass, three times not."""
    from vislab import images

    with make_client(tmp_path / "runs", workers=1, threads=1, max_memory=100 * MB) as c:
        up = c.post("/api/uploads", content=_one_bit_png(2000), headers=H)
        assert up.status_code == 201, up.text
        ref = up.json()["id"]
        monkeypatch.setattr(images, "decode_image", lambda *a, **k: pytest.fail("decoded before the check"))
        r = c.post("/api/jobs", json={"kind": "classify", "settings": {"images": [ref] * 3}}, headers=H)
        assert r.status_code == 413, r.text
        message = r.json()["error"]
        assert "3 images need about 148.8 MiB" in message and "--max-memory 100.0 MiB" in message
        assert "\n" not in message
        r = c.post("/api/jobs", json={"kind": "style", "settings": {"content": ref, "styles": [ref, ref],
                                                                   "image_size": 32}}, headers=H)
        assert r.status_code == 413  # every image setting counts, lists and single ones alike
        assert not [p for p in (tmp_path / "runs").iterdir() if not p.name.startswith(".")]
        monkeypatch.undo()
        r = c.post("/api/jobs", json={"kind": "classify", "settings": {"images": [ref], "topk": 1}}, headers=H)
        assert r.status_code == 202, r.text
        from .conftest import Driver

        assert Driver(c, tmp_path / "runs").wait(r.json()["id"])["state"] == "ok"


def test_an_upload_too_large_to_decode_is_refused_from_its_header(tmp_path, monkeypatch):
    from vislab.serve import uploads

    monkeypatch.setattr(uploads, "load_rgb8", lambda *a, **k: pytest.fail("decoded before the check"))
    with make_client(tmp_path / "runs", workers=1, threads=1, max_memory=50 * MB) as c:
        r = c.post("/api/uploads", content=_one_bit_png(2000), headers=H)
        assert r.status_code == 413, r.text
        assert "2000x2000 pixels: decoding it needs about 57.2 MiB" in r.json()["error"]
        assert not list((tmp_path / "runs" / ".uploads").iterdir())
        info = c.get("/api/info").json()
        assert info["limits"]["max_upload_bytes"] > 0


def test_samples_and_small_uploads_pass_under_the_default_limit(server):
    from vislab.serve.limits import default_max_memory, job_memory

    up = server.upload(png_bytes(np.zeros((20, 30, 3), np.uint8))).json()["id"]
    s = server.c.post("/api/jobs", json={"kind": "classify", "settings": {"images": [up, "sample:coffee"],
                                                                         "topk": 1}}, headers=H)
    assert s.status_code == 202
    from vislab.backbones.classify_job import ClassifySettings
    from vislab.serve.uploads import resolve_ref

    settings = ClassifySettings(images=[resolve_ref(server.root, up), "sample:coffee"])
    assert job_memory(settings, server.root) == 12 * (20 * 30 + 600 * 400) + 3 * 600 * 400
    assert default_max_memory() > 10 * MB
    server.wait(s.json()["id"])


def test_max_memory_flag(cli):
    r = cli("serve", "--help")
    assert "--max-memory" in r.out
    from tests.conftest import assert_one_line_error

    assert_one_line_error(cli("serve", "--max-memory", "lots"), "--max-memory", "4G")
    from vislab.serve.limits import parse_memory

    assert [parse_memory(s) for s in ("4G", "512m", "1.5GiB", "2000", "3kB")] == [
        4 * 2**30, 512 * MB, int(1.5 * 2**30), 2000, 3072]


def test_a_large_image_is_decoded_reduced_when_only_a_small_one_is_needed(tmp_path):
    """`min_side`: a PNG is box-reduced by a whole factor before the float conversion (checked against numpy's
    block mean), a JPEG is scaled in its decoder (checked against the full decode, block-averaged); the shorter
    side stays >= 2 * min_side; small images and no `min_side` are untouched."""
    from vislab.images import load_image

    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (600, 900, 3), dtype=np.uint8)
    p = tmp_path / "big.png"
    Image.fromarray(arr).save(p)
    got = load_image(p, min_side=100)  # 600 // 200 = 3; PIL rounds the box mean in fixed point: within a level
    block = arr.reshape(200, 3, 300, 3, 3).astype(np.float64).mean(axis=(1, 3)) / 255
    assert tuple(got.shape) == (3, 200, 300)
    assert np.abs(got.numpy().transpose(1, 2, 0) - block).max() <= 1 / 255 + 1e-6
    assert torch.equal(load_image(p, min_side=200), load_image(p))  # 600 < 4 * 200: full size

    one_bit = tmp_path / "bits.png"
    Image.fromarray(((rng.random((400, 400)) > 0.5) * 255).astype(np.uint8)).convert("1").save(one_bit)
    got = load_image(one_bit, min_side=50)  # reduced by 4, through mode L
    full = load_image(one_bit)[0].numpy().reshape(100, 4, 100, 4).mean(axis=(1, 3))
    assert tuple(got.shape) == (3, 100, 100) and np.abs(got[0].numpy() - full).max() <= 1 / 255 + 1e-6

    gx, gy = np.meshgrid(np.linspace(0, 1, 1000), np.linspace(0, 1, 900))
    smooth = (np.stack([gx, gy, gx * gy], axis=-1) * 255).astype(np.uint8)
    jpeg = tmp_path / "big.jpg"
    Image.fromarray(smooth).save(jpeg, quality=95)
    got = load_image(jpeg, min_side=224)  # 900 // 448 = 2: decoded at half size
    full = load_image(jpeg).numpy().reshape(3, 450, 2, 500, 2).mean(axis=(2, 4))
    assert tuple(got.shape) == (3, 450, 500) and np.abs(got.numpy() - full).mean() < 2 / 255
