"""The page as a person uses it, in headless Chromium: every tab opens at the library's defaults and runs (small
sizes typed into the form to keep it fast; classify and saliency at pure defaults), with no dead end; an upload
replaces the default picture; progress, the picture as it forms, inputs beside outputs, original file names,
the equivalent command, plain-word warnings; a reload comes back to the jobs; the page fits 420 px.
``VISLAB_UPDATE_DOCS=1`` also writes the style screenshot to docs/images/serve.png for the docs.

Skipped (not failed) where no Chromium is installed or it will not start (see `browser_page`).
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from tests.serve.browser_page import Page, Seen, browser, live_server  # noqa: F401 (fixtures)
from vislab.cli import build_parser
from vislab.images import sample_image

DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "serve.png"
HASHED = re.compile(r"[0-9a-f]{32}")
SMALL = {"image_size": 64, "iterations": 8, "steps": 8, "size": 64, "max_iters": 8}
"""Settings typed into the forms to keep the runs short (the rest stay at the defaults the page shows)."""
SMALL_N = {"gan-sample": 16, "gan-eval": 64}
PURE_DEFAULTS = ("classify", "saliency")
NEEDS_MODEL = {"caption": "vislab caption train", "gan-sample": "vislab gan train", "gan-eval": "vislab gan train"}
"""Tabs that run a trained model, and the command the page must show to train one."""


def without_shipped_model() -> set[str]:
    """Model tabs whose model does not ship in this build (its asset file is missing): they may be refused, with
    the command to train one shown; every other tab must run."""
    from vislab.captioning.attention_shipped import SHIPPED_PATH as CAPTIONER
    from vislab.gan.shipped import SHIPPED_PATH as GENERATOR

    return ({"caption"} if not CAPTIONER.is_file() else set()) | \
        ({"gan-sample", "gan-eval"} if not GENERATOR.is_file() else set())


def panel(tab: str) -> str:
    return f"document.querySelector('#panel-{tab}')"


def photo_file(tmp_path: Path, name: str, sample: str) -> Path:
    path = tmp_path / name
    Image.fromarray(sample_image(sample)[::2, ::2].copy()).save(path)
    return path


def test_upload_classify_and_style_in_a_real_browser(live_server, browser, tmp_path):  # noqa: F811
    url, root = live_server
    photo, waves = photo_file(tmp_path, "cat.png", "chelsea"), photo_file(tmp_path, "waves.png", "astronaut")
    page = Page(browser, url)
    page.ready()

    text = tmp_path / "notes.png"
    text.write_text("not a picture at all\n")
    page.set_file("#panel-classify input[type=file]", text)
    message = page.wait("document.querySelector('#panel-classify .picker .error')?.textContent")
    assert message.startswith("notes.png:") and "not an image" in message, message
    page.set_file("#panel-classify input[type=file]", photo)
    page.wait("document.querySelector('#panel-classify .thumbs figcaption')?.textContent.startsWith('cat.png')")
    assert page.js("document.querySelectorAll('#panel-classify .thumbs figure').length") == 1  # replaced the default
    page.js("document.querySelector('#panel-classify button[type=submit]').click()")
    column = ("Array.from(document.querySelectorAll('#panel-classify table.topk th'))"
              ".findIndex(h => h.textContent === 'class')")
    top = page.wait(f"document.querySelector('#panel-classify table.topk tbody tr')?.children[{column}].textContent")
    assert any(cat in top for cat in ("cat", "tabby", "Egyptian", "lynx")), top

    page.js("document.querySelector('#tabs button[data-tab=style]').click()")
    styles = "#panel-style .picker[data-name=styles]"
    assert page.js(f"document.querySelector('{styles} figcaption').textContent") == "starry night"  # the default
    page.set_file("#panel-style .picker[data-name=content] input[type=file]", photo)
    page.set_file(f"{styles} input[type=file]", waves)
    page.wait(f"document.querySelector('{styles} figcaption')?.textContent.startsWith('waves.png')")
    # The upload replaced the default painting instead of being blended with it.
    assert page.js(f"document.querySelector('{styles}').refs.map(r => r.ref).join()").startswith("upload:")
    assert page.js(f"document.querySelector('{styles}').refs.length") == 1
    page.js(f"document.querySelector('{styles} .remove').click();"
            f"const s = document.querySelector('{styles} select.sample'); s.value = 'starry_night';"
            "s.dispatchEvent(new Event('change'))")
    assert page.js(f"document.querySelector('{styles}').refs.map(r => r.ref)") == ["sample:starry_night"]
    page.js("document.querySelector('#panel-style input[name=image_size]').value = 128;"
            "document.querySelector('#panel-style input[name=iterations]').value = 40;"
            "document.querySelector('#panel-style button[type=submit]').click()")
    seen = Seen("[document.querySelector('#panel-style .state')?.textContent || '',"
                " !!document.querySelector('#panel-style progress'),"
                " !!document.querySelector('#panel-style figure.preview img')]")
    page.wait("document.querySelector('#panel-style img.result-image')?.complete === true", seen=seen)
    running = [s for s in seen if re.match(r"Running: iteration \d+/40", s[0]) and s[1]]
    assert running, seen  # the progress bar and "iteration k/40" were shown while it ran
    assert page.js("document.querySelector('#panel-style .state').textContent").startswith("Done in ")
    assert page.wait("document.querySelector('#panel-style img.result-image').naturalWidth") == 128
    job = json.loads(page.js("fetch('/api/jobs').then(r => r.text())"))[0]
    if job["finished"] - job["started"] > 2:  # long enough for the page's poll to catch a preview
        assert any(s[2] for s in seen), "no picture was shown as it formed"
    shown = page.js(f"{panel('style')}.querySelector('.job').innerText")
    assert "photo: cat.png" in shown and "style paintings: starry night" in shown, shown  # inputs beside the output
    assert "final loss" in shown and "final_total" not in shown and not HASHED.search(shown), shown
    numbers = page.js(f"{panel('style')}.querySelector('.result .numbers').textContent")
    decimals = re.findall(r"\d+\.\d+", numbers)
    assert decimals and all(len(d.replace(".", "").lstrip("0")) <= 3 for d in decimals), numbers  # 3 digits
    command = page.js(f"{panel('style')}.querySelector('details.command code').textContent")
    args = build_parser().parse_args(shlex.split(command)[1:])  # a command the CLI takes, with these settings
    assert (args.content, args.styles, args.image_size, args.iterations) == ("cat.png", ["sample:starry_night"],
                                                                             128, 40), command

    shot = page.screenshot()
    img = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"))
    assert img.shape[:2] == (860, 1280) and img.std() > 10  # a page, not a blank frame
    (tmp_path / "serve.png").write_bytes(shot)
    if os.environ.get("VISLAB_UPDATE_DOCS") == "1":
        DOCS_SHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_path / "serve.png", DOCS_SHOT)
    # The run's report opens from the page's link, its pictures load (run files are served sandboxed).
    report = page.js("document.querySelector('#panel-style .job a[href$=report]').href")
    page.b.send("Page.navigate", {"url": report}, session=page.s)
    page.wait("document.readyState === 'complete' && document.images.length > 0")
    images = page.wait("Array.from(document.images).every(i => i.complete) && "
                       "Array.from(document.images).map(i => i.naturalWidth)")
    assert images and all(w > 0 for w in images), page.js("Array.from(document.images).map(i => i.src.slice(0, 99))")
    runs = [json.loads(p.read_text())["kind"] for p in root.glob("*/config.json")]
    assert sorted(runs) == ["classify", "style"]


def start_every_tab(page: Page) -> tuple[list[str], dict[str, str]]:
    """Open every tab, check it offers no dead end, type the small settings, submit; the tab ids, and the
    messages of the jobs the server refused."""
    tabs = [t for t in page.js("Array.from(document.querySelectorAll('#tabs button')).map(b => b.dataset.tab)")
            if t != "history"]
    titles = page.js("Array.from(document.querySelectorAll('#tabs button')).map(b => b.textContent)")
    assert len(set(titles)) == len(titles), titles
    for tab in tabs:
        page.js(f"document.querySelector('#tabs button[data-tab=\"{tab}\"]').click()")
        text = page.js(f"{panel(tab)}.innerText")
        assert "Please select" not in text and page.js(f"{panel(tab)}.querySelector('[required]')") is None, tab
        small = {} if tab in PURE_DEFAULTS else {**SMALL, **({"n": SMALL_N[tab]} if tab in SMALL_N else {})}
        for name, value in small.items():
            page.js(f"{{ const i = {panel(tab)}.querySelector('input[name={name}]'); if (i) i.value = {value} }}")
        if small:  # lists of choices (methods to compare...): only the first
            page.js(f"{panel(tab)}.querySelectorAll('.choices input').forEach(b => {{"
                    " b.checked = b === b.closest('.boxes').querySelector('input'); })")
        if tab == "caption":  # the tiny captioner trained on shapes: a photo is out of its domain
            page.js(f"{panel(tab)}.querySelector('select[name=checkpoint]').value = 'cap'")
        page.js(f"{panel(tab)}.querySelector('button[type=submit]').click()")
        page.wait(f"{panel(tab)}.querySelector('.state, .job > p.error')?.textContent")
    refused = {t: page.js(f"{panel(t)}.querySelector('.job > p.error')?.textContent") for t in tabs}
    return tabs, {t: m for t, m in refused.items() if m}


def test_every_tab_runs_from_its_defaults_and_survives_a_reload(live_server, browser, tmp_path):  # noqa: F811
    from tests.captioning.tiny_runs import train_tiny

    url, root = live_server
    train_tiny(root / "cap")
    page = Page(browser, url)
    page.ready()
    no_model = without_shipped_model()
    tabs, refused = start_every_tab(page)
    assert {"classify", "saliency", "fool", "dream", "style", "invert", "texture", "caption"} <= set(tabs), tabs
    for tab, message in refused.items():  # only for want of a model: then one plain line, and how to train one
        assert tab in no_model and "\n" not in message and NEEDS_MODEL[tab] in page.js(f"{panel(tab)}.innerText"), \
            (tab, message)
    tabs = [t for t in tabs if t not in refused]
    page.reload()  # the jobs queued and running come back into their tabs
    for tab in tabs:
        page.wait(f"{panel(tab)}.querySelector('.state')?.textContent")
    finished = {tab: page.wait(f"{panel(tab)}.querySelector('.state-ok, .state-failed, .state-cancelled')"
                               "?.textContent", timeout=120) for tab in tabs}
    for tab in tabs:
        page.js(f"document.querySelector('#tabs button[data-tab=\"{tab}\"]').click()")
        shown = page.js(f"{panel(tab)}.querySelector('.job').innerText")
        command = page.js(f"{panel(tab)}.querySelector('details.command code').textContent")
        assert command.startswith("vislab ") and build_parser().parse_args(shlex.split(command)[1:]), command
        assert not HASHED.search(shown) and "Please select" not in shown and "unfamiliar_images" not in shown, shown
        if tab in no_model and not finished[tab].startswith("Done"):
            # No shipped model in this build: the failure is one plain line and the page says how to train one.
            assert "\n" not in finished[tab].strip() and NEEDS_MODEL[tab] in page.js(f"{panel(tab)}.innerText"), tab
            continue
        assert finished[tab].startswith("Done"), (tab, finished[tab])
        if tab == "classify":
            assert page.js(f"{panel(tab)}.querySelectorAll('table.topk tbody tr').length") == 5
        elif tab != "gan-eval":
            width = page.wait(f"{panel(tab)}.querySelector('img.result-image')?.complete &&"
                              f" {panel(tab)}.querySelector('img.result-image').naturalWidth")
            assert width > 0, tab
        if tab == "caption":  # the warning in words, beside the picture it is about
            warnings = page.js(f"Array.from({panel(tab)}.querySelectorAll('.warning')).map(w => w.textContent)")
            assert any(w.startswith("1 of 1 picture is unlike the pictures the captioner was trained on") for w in
                       warnings) and any(w.startswith("This picture is unlike") for w in warnings), warnings
    # 420 px wide: one column, nothing wider than the screen (wide tables scroll inside their box).
    page.resize(420, 860)
    for tab in tabs:
        page.js(f"document.querySelector('#tabs button[data-tab=\"{tab}\"]').click()")
        width = page.js("document.documentElement.scrollWidth")
        right = page.js(f"Math.max(...Array.from({panel(tab)}.querySelectorAll('img.result-image'))"
                        ".map(i => i.getBoundingClientRect().right), 0)")
        assert width <= 420 and right <= 420, (tab, width, right)
