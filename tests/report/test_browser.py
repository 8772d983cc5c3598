"""The report as a person sees it: headless Chromium opens it, every image loads, the console stays clean.

Skipped (not failed) where no Chromium is installed or it will not start; `.ci/run` installs Debian's
`chromium`.
"""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from tests.report.browser import BrowserUnavailable, Chromium, find_chromium
from tests.report.fake_runs import make_image_run, make_training_run, parse
from vislab.report import build_report


@pytest.fixture(scope="module")
def browser():
    exe = find_chromium()
    if exe is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    try:
        b = Chromium(exe)
    except BrowserUnavailable as e:
        pytest.skip(str(e))
    yield b
    b.close()


def test_report_renders_in_chromium(tmp_path, browser):
    root = tmp_path / "runs"
    make_training_run(root / "gan")
    make_image_run(root / "style")
    broken = make_image_run(root / "broken")
    (broken / "config.json").unlink()
    (broken / "half.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    page = build_report([root])

    check = browser.open_page(page, full_page=True)
    # gan samples and curves, style photo, broken run's photo, and one headline picture per run at the top
    assert len(check.images) == len(parse(page).imgs) == 3 + 1 + 1 + 1 + 3
    assert check.broken_images == [], check.broken_images
    assert check.errors == [], check.errors
    shot = Image.open(io.BytesIO(check.screenshot))
    assert shot.format == "PNG" and shot.width == 1280 and shot.height == check.size[1] > 900
    (tmp_path / "report.png").write_bytes(check.screenshot)


def test_the_check_catches_a_missing_image(tmp_path, browser):
    # The same check on a page with a dangling link must report it, or the test above proves nothing.
    good = tmp_path / "ok.png"
    Image.new("RGB", (8, 8), "red").save(good)
    page = tmp_path / "page.html"
    page.write_text('<!doctype html><html><body><img src="ok.png"><img src="gone.png">'
                    "<script>console.error('boom')</script></body></html>", encoding="utf-8")
    check = browser.open_page(page)
    assert [i["src"] for i in check.broken_images] == ["gone.png"]
    assert any("boom" in e for e in check.errors)
    assert any("gone.png" in e for e in check.errors)  # the failed load is logged too


def test_hostile_run_folder_renders_cleanly(tmp_path, browser):
    # Markup in every field, a non-UTF-8 image name, absurd numbers: no script runs, every image loads.
    from tests.report.fake_runs import make_small_run

    evil = "<img src=x onerror=console.error('xss')><script>console.error('xss')</script>\x00\ud800"
    run = make_small_run(tmp_path / "run", config={"command": evil, "vislab_version": evil, "config": {evil: evil},
                                                   "history": [{"command": evil, "time": evil, "action": evil}]},
                         rows=['{"step": 0, "loss": NaN, "x": 1e308}', {"step": 1, "loss": 10**400, evil: evil}])
    Image.new("RGB", (8, 8), "red").save(run / "ok.png")
    pictures = 1  # ok.png (no curves: no metric has two finite points)
    try:
        Image.new("RGB", (8, 8), "blue").save(os.fsdecode(os.fsencode(run) + b"/odd\xff name#?.png"))
        pictures += 1
    except OSError:  # the filesystem refuses non-UTF-8 names: the rest still counts
        pass
    page = build_report([run], title=evil)
    check = browser.open_page(page, full_page=True)
    assert len(check.images) == len(parse(page).imgs) == pictures
    assert check.broken_images == [], check.broken_images
    assert check.errors == [], check.errors
