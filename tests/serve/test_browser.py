"""The page as a person uses it: headless Chromium opens it, uploads a picture, classifies it, runs a short style
job, sees its progress and the result image, and keeps a screenshot (``VISLAB_UPDATE_DOCS=1`` also writes it to
docs/images/serve.png for the README).

Skipped (not failed) where no Chromium is installed or it will not start (`.ci/run` installs Debian's
`chromium`). Driven over the DevTools pipe with the report tests' driver: no extra package.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.report.browser import BrowserUnavailable, Chromium, find_chromium
from vislab.images import sample_image
from vislab.paths import data_dir

pytest.importorskip("uvicorn")
DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "serve.png"


@pytest.fixture
def live_server(tmp_path):
    import uvicorn

    from vislab.serve import bind, create_app

    sock = bind("127.0.0.1", 0)
    app = create_app(tmp_path / "runs", workers=1, threads=1)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/", tmp_path / "runs"
    server.should_exit = True
    thread.join(30)


@pytest.fixture
def browser():
    exe = find_chromium()
    if exe is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    try:
        b = Chromium(exe, timeout=60)
    except BrowserUnavailable as e:
        pytest.skip(str(e))
    yield b
    b.close()


class Page:
    def __init__(self, b: Chromium, url: str) -> None:
        self.b = b
        target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "DOM"):
            b.send(f"{domain}.enable", session=self.s)
        b.send("Emulation.setDeviceMetricsOverride",
               {"width": 1280, "height": 860, "deviceScaleFactor": 1, "mobile": False}, session=self.s)
        b.send("Page.navigate", {"url": url}, session=self.s)

    def js(self, expression: str):
        r = self.b.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                             "awaitPromise": True}, session=self.s)
        if "exceptionDetails" in r:
            raise AssertionError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait(self, expression: str, timeout: float = 60, every: float = 0.05, seen=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if seen is not None:
                seen.append(self.js(seen.expression))
            value = self.js(expression)
            if value:
                return value
            time.sleep(every)
        raise AssertionError(f"timed out waiting for {expression}")

    def set_file(self, selector: str, path: Path) -> None:
        root = self.b.send("DOM.getDocument", session=self.s)["root"]["nodeId"]
        node = self.b.send("DOM.querySelector", {"nodeId": root, "selector": selector}, session=self.s)["nodeId"]
        self.b.send("DOM.setFileInputFiles", {"files": [str(path)], "nodeId": node}, session=self.s)

    def screenshot(self) -> bytes:
        return base64.b64decode(self.b.send("Page.captureScreenshot", {"format": "png"}, session=self.s)["data"])


class Seen(list):
    def __init__(self, expression: str) -> None:
        super().__init__()
        self.expression = expression


def test_upload_classify_and_style_in_a_real_browser(live_server, browser, tmp_path):
    url, root = live_server
    photo = tmp_path / "cat.png"
    Image.fromarray(sample_image("chelsea")[::2, ::2].copy()).save(photo)
    page = Page(browser, url)
    page.wait("document.body && document.body.dataset.ready === '1'")

    text = tmp_path / "notes.png"
    text.write_text("not a picture at all\n")
    page.set_file("#panel-classify input[type=file]", text)
    message = page.wait("document.querySelector('#panel-classify .picker .error')?.textContent")
    assert message.startswith("notes.png:") and "not an image" in message, message
    page.set_file("#panel-classify input[type=file]", photo)
    page.wait("document.querySelector('#panel-classify .thumbs figcaption')?.textContent.startsWith('cat.png')")
    page.js("document.querySelector('#panel-classify button[type=submit]').click()")
    top = page.wait("document.querySelector('#panel-classify table.topk tbody td:nth-child(3)')?.textContent")
    assert any(cat in top for cat in ("cat", "tabby", "Egyptian", "lynx")), top

    page.js("document.querySelector('#tabs button[data-tab=style]').click()")
    page.set_file("#panel-style .picker[data-name=content] input[type=file]", photo)
    page.wait("document.querySelector('#panel-style .picker[data-name=content] figcaption')"
              "?.textContent.startsWith('cat.png')")
    painting = data_dir() / "styles" / "starry_night.jpg" if data_dir() else None
    if painting is not None and painting.is_file():  # a painting where the shared data has one (nicer picture)
        page.js("document.querySelector('#panel-style .picker[data-name=styles] .remove').click()")
        page.set_file("#panel-style .picker[data-name=styles] input[type=file]", painting)
        page.wait("document.querySelector('#panel-style .picker[data-name=styles] figcaption')"
                  "?.textContent.startsWith('starry_night')")
    page.js("document.querySelector('#panel-style input[name=image_size]').value = 128;"
            "document.querySelector('#panel-style input[name=iterations]').value = 100;"
            "document.querySelector('#panel-style button[type=submit]').click()")
    seen = Seen("[document.querySelector('#panel-style .state')?.textContent || '',"
                " !!document.querySelector('#panel-style progress'),"
                " !!document.querySelector('#panel-style figure.preview img')]")
    page.wait("document.querySelector('#panel-style img.result-image')?.complete === true", seen=seen)
    running = [s for s in seen if s[0].startswith("Running: step") and s[1]]
    assert running, seen  # the progress bar and step count were shown while it ran
    assert page.js("document.querySelector('#panel-style .state').textContent") == "ok"
    width = page.wait("document.querySelector('#panel-style img.result-image').naturalWidth")
    assert width == 128
    job = json.loads(page.js("fetch('/api/jobs').then(r => r.text())"))[0]
    if job["finished"] - job["started"] > 2:  # long enough for the page's twice-a-second poll to catch one
        assert any(s[2] for s in seen), "no picture was shown as it formed"

    shot = page.screenshot()
    img = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"))
    assert img.shape[:2] == (860, 1280) and img.std() > 10  # a page, not a blank frame
    (tmp_path / "serve.png").write_bytes(shot)
    if os.environ.get("VISLAB_UPDATE_DOCS") == "1":
        DOCS_SHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_path / "serve.png", DOCS_SHOT)
    # The run's report opens from the page's link, its pictures load (run files are served sandboxed).
    report = page.js("document.querySelector('#panel-style .job a[target=_blank]:last-of-type').href")
    page.b.send("Page.navigate", {"url": report}, session=page.s)
    page.wait("document.readyState === 'complete' && document.images.length > 0")
    images = page.wait("Array.from(document.images).every(i => i.complete) && "
                       "Array.from(document.images).map(i => i.naturalWidth)")
    assert images and all(w > 0 for w in images), images
    runs = [json.loads(p.read_text())["kind"] for p in root.glob("*/config.json")]
    assert sorted(runs) == ["classify", "style"]
