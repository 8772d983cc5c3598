"""A tiny headless-Chromium driver for checking report pages, over the DevTools protocol on a pipe.

``--remote-debugging-pipe`` makes Chromium read commands on fd 3 and write answers on fd 4, as NUL-terminated
JSON: no port to pick, no websocket library. `open_page` loads a page, waits for its load event (which waits
for every image), and returns what a person would notice: images that did not load, console errors, a
screenshot.

Run by hand to refresh the README picture:  python tests/report/browser.py runs/tour-quick/index.html shot.png
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--disable-extensions", "--mute-audio", "--hide-scrollbars", "--remote-debugging-pipe"]

IMAGES_JS = ("JSON.stringify(Array.from(document.images).map(i => "
             "({src: i.getAttribute('src').slice(0, 120), complete: i.complete, width: i.naturalWidth})))")


class BrowserUnavailable(RuntimeError):
    """Chromium is not installed or would not start: the caller skips rather than fails."""


def find_chromium() -> str | None:
    env = os.environ.get("VISLAB_CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageCheck:
    images: list[dict] = field(default_factory=list)  # {src, complete, width}
    errors: list[str] = field(default_factory=list)  # console errors, exceptions, failed loads
    screenshot: bytes = b""
    size: tuple[int, int] = (0, 0)  # CSS width, height of the whole page

    @property
    def broken_images(self) -> list[dict]:
        return [i for i in self.images if not i["complete"] or i["width"] <= 0]


class Chromium:
    def __init__(self, exe: str, *, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="vislab-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_fds() -> None:  # in the child: our pipe ends become fds 3 (commands in) and 4 (answers out)
            a = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        try:
            self.proc = subprocess.Popen(
                [exe, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=wire_fds, close_fds=False)
        except OSError as e:
            self._cleanup()
            raise BrowserUnavailable(f"cannot start {exe}: {e}") from e
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict] = []
        try:
            self.send("Browser.getVersion")
        except (TimeoutError, RuntimeError, OSError) as e:
            self.close()
            raise BrowserUnavailable(f"{exe} did not answer on the DevTools pipe ({e})") from e

    # -- protocol --------------------------------------------------------------------------------------------
    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read()
            if m.get("id") == self._next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method: str, session: str | None = None) -> dict:
        for i, m in enumerate(self.events):
            if m.get("method") == method and (session is None or m.get("sessionId") == session):
                return self.events.pop(i)
        while True:
            m = self._read()
            if m.get("method") == method and (session is None or m.get("sessionId") == session):
                return m
            self.events.append(m)

    def _read(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer from Chromium in {self.timeout:.0f} s")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe (it exited)")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    # -- the one thing we do with it -------------------------------------------------------------------------
    def open_page(self, path: Path, *, width: int = 1280, height: int = 900,
                  full_page: bool = False) -> PageCheck:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable", session=s)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=s)
        self.events.clear()
        self.send("Page.navigate", {"url": Path(path).resolve().as_uri()}, session=s)
        self.wait_event("Page.loadEventFired", session=s)
        check = PageCheck()
        found = self.send("Runtime.evaluate", {"expression": IMAGES_JS, "returnByValue": True}, session=s)
        check.images = json.loads(found["result"]["value"])
        metrics = self.send("Page.getLayoutMetrics", session=s)["cssContentSize"]
        check.size = (int(metrics["width"]), int(metrics["height"]))
        shot: dict = {"format": "png"}
        if full_page:
            shot.update(captureBeyondViewport=True,
                        clip={"x": 0, "y": 0, "width": width, "height": check.size[1], "scale": 1})
        check.screenshot = base64.b64decode(self.send("Page.captureScreenshot", shot, session=s)["data"])
        check.errors = [e for e in map(_error_text, self.events) if e]
        self.send("Target.closeTarget", {"targetId": target})
        return check

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                try:
                    msg = json.dumps({"id": 10**6, "method": "Browser.close"})
                    os.write(self._to_child, msg.encode() + b"\0")
                    self.proc.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    self.proc.kill()
                    self.proc.wait()
        finally:
            self._cleanup()

    def _cleanup(self) -> None:
        for fd in (getattr(self, "_to_child", None), getattr(self, "_from_child", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._to_child = self._from_child = None
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _error_text(event: dict) -> str | None:
    """The message of a console error, an uncaught exception or a failed load; None for anything else."""
    method, p = event.get("method"), event.get("params", {})
    if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
        args = p.get("args", [])
        return "console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in args)
    if method == "Runtime.exceptionThrown":
        d = p.get("exceptionDetails", {})
        return "exception: " + str(d.get("exception", {}).get("description") or d.get("text"))
    if method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
        e = p["entry"]
        return f"log: {e.get('text')} {e.get('url', '')}".strip()
    return None


if __name__ == "__main__":
    exe = find_chromium()
    if not exe:
        sys.exit("chromium not found")
    page, out = Path(sys.argv[1]), Path(sys.argv[2])
    height = int(sys.argv[3]) if len(sys.argv) > 3 else 900
    with Chromium(exe) as browser:
        result = browser.open_page(page, height=height)
    out.write_bytes(result.screenshot)
    print(f"{out}: page {result.size[0]}x{result.size[1]}, {len(result.images)} images, "
          f"{len(result.broken_images)} broken, {len(result.errors)} errors {result.errors}")
