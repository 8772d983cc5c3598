"""Driving the served page in headless Chromium (over the DevTools pipe with the report tests' driver: no extra
package): a live server on a free port, the browser, and a `Page` that evaluates JavaScript, waits, sets files,
resizes and takes screenshots. Skipped (not failed) where no Chromium is installed or it will not start
(`.ci/run` installs Debian's `chromium`)."""

from __future__ import annotations

import base64
import threading
import time
from pathlib import Path

import pytest

from tests.report.browser import BrowserUnavailable, Chromium, find_chromium


@pytest.fixture
def live_server(tmp_path):
    pytest.importorskip("uvicorn")
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
    def __init__(self, b: Chromium, url: str, width: int = 1280, height: int = 860) -> None:
        self.b = b
        target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "DOM"):
            b.send(f"{domain}.enable", session=self.s)
        self.resize(width, height)
        b.send("Page.navigate", {"url": url}, session=self.s)

    def resize(self, width: int, height: int) -> None:
        self.b.send("Emulation.setDeviceMetricsOverride",
                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=self.s)

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

    def ready(self) -> None:
        error = self.wait("document.body && (document.body.dataset.ready === '1' ? 'ok' :"
                          " document.querySelector('body > p.error')?.textContent)", timeout=30)
        assert error == "ok", error

    def reload(self) -> None:
        self.js("document.body.dataset.ready = ''")
        self.b.send("Page.reload", {}, session=self.s)
        self.ready()

    def set_file(self, selector: str, path: Path) -> None:
        root = self.b.send("DOM.getDocument", session=self.s)["root"]["nodeId"]
        node = self.b.send("DOM.querySelector", {"nodeId": root, "selector": selector}, session=self.s)["nodeId"]
        self.b.send("DOM.setFileInputFiles", {"files": [str(path)], "nodeId": node}, session=self.s)

    def screenshot(self) -> bytes:
        return base64.b64decode(self.b.send("Page.captureScreenshot", {"format": "png"}, session=self.s)["data"])


class Seen(list):
    """Values of `expression` sampled on every poll of `Page.wait`."""

    def __init__(self, expression: str) -> None:
        super().__init__()
        self.expression = expression
