"""`vislab classify` through the CLI: output formats, and the one-line error contract for each bad-input case."""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image

from tests.conftest import assert_one_line_error
from tests.foundation.test_images import _png_with_size


def test_classify_table_and_json(cli):
    r = cli("classify", "sample:coffee", "--topk", "3")
    assert r.rc == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == "sample:coffee" and "espresso" in lines[1] and len(lines) == 4
    r = cli("classify", "sample:coffee", "sample:chelsea", "--json", "--topk", "2")
    data = json.loads(r.out)
    assert [d["image"] for d in data] == ["sample:coffee", "sample:chelsea"]
    assert data[0]["top"][0] == {"index": 967, "name": "espresso", "prob": data[0]["top"][0]["prob"]}
    assert 0.9 < data[0]["top"][0]["prob"] <= 1.0 and len(data[1]["top"]) == 2


def _bad_files(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_with_size(30_000, 30_000))
    buf = io.BytesIO()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(buf, format="PNG")
    trunc = tmp_path / "trunc.png"
    trunc.write_bytes(buf.getvalue()[:-40])
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    return {
        str(tmp_path / "missing.jpg"): "no such file",
        str(tmp_path): "directory",
        str(tmp_path / "notes.txt"): "not an image",
        str(bomb): "megapixels",
        str(trunc): "truncated",
        str(corrupt): "corrupt",
    }


def test_each_bad_input_is_one_line_exit_2_and_prints_no_results(tmp_path, cli):
    for path, what in _bad_files(tmp_path).items():
        r = cli("classify", "sample:coffee", path, "--json")
        assert_one_line_error(r, what, path)
        assert r.out == ""  # nothing printed for the good image either: no partial output


def test_usage_errors_are_one_line(cli):
    assert_one_line_error(cli("classify"), "required")
    assert_one_line_error(cli("classify", "sample:coffee", "--topk", "-1"), "positive")
    assert_one_line_error(cli("nonsense-command"), "invalid choice")
