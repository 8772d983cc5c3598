"""`vislab report` on hostile or broken run folders: never a hang, a traceback or a leak of files outside the run.

Broken files inside a run are named on the page (the run shows as incomplete); bad folder arguments are one
`vislab: error:` line with exit status 2.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

import vislab
from tests.conftest import assert_one_line_error
from tests.report.fake_runs import make_small_run, parse, states
from vislab.report import build_report, scan_run
from vislab.report.plots import plot_series
from vislab.report.safefiles import MAX_JSON_BYTES
from vislab.report.scan import MAX_METRICS_BYTES, numeric_series

SRC = Path(vislab.__file__).resolve().parents[1]  # the child process imports the same vislab as this one


def _report_in_subprocess(*args: str | os.PathLike, timeout: float = 20) -> subprocess.CompletedProcess:
    """`vislab report ARGS` in a child process: a regression that blocks (on a FIFO) fails the test after
    `timeout` seconds instead of hanging the suite (subprocess.run kills the child)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "vislab", "report", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def _png(path: Path, size: tuple[int, int] = (8, 8), color: str = "red") -> Path:
    Image.new("RGB", size, color).save(path)
    return path


def _png_header(path: Path, w: int, h: int) -> Path:
    """A PNG whose header claims w x h pixels with next to no data: a decompression bomb as the report sees it."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifos_and_other_special_files_are_refused_without_hanging(tmp_path):
    root = tmp_path / "runs"
    for name in ("config.json", "metrics.jsonl", "status.json", "result.json", "pic.png", "notes.txt"):
        run = make_small_run(root / f"fifo-{name.replace('.', '-')}")
        (run / name).unlink(missing_ok=True)
        os.mkfifo(run / name)  # opening it to read would block until a writer comes: never
    sock_run = make_small_run(root / "socket")
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.bind(str(sock_run / "out.txt"))
            bound = True
        except OSError:  # path too long for a socket address on some systems: the FIFOs still count
            bound = False
    res = _report_in_subprocess(root, "-o", tmp_path / "page.html")
    assert res.returncode == 0, res.stderr
    p = parse(tmp_path / "page.html")
    assert set(states(p).values()) == {"incomplete"}
    text = p.all_text
    for name in ("config.json", "metrics.jsonl", "status.json"):
        assert f"{name} unreadable (not a regular file (a FIFO))" in text
    assert "result.json: not a regular file (a FIFO)" in text and "pic.png: not a regular file" in text
    assert "notes.txt: not a regular file (a FIFO)" in text
    assert not bound or "out.txt: not a regular file (a socket)" in text


def test_deep_nesting_and_oversized_files_are_named_not_fatal(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    root = tmp_path / "runs"
    (make_small_run(root / "deep-config") / "config.json").write_text(deep, encoding="utf-8")
    (make_small_run(root / "deep-status") / "status.json").write_text(deep, encoding="utf-8")
    make_small_run(root / "deep-metrics", rows=[{"step": 0, "loss": 1.0}, '{"x": ' + deep + "}",
                                                {"step": 1, "loss": 0.5}])
    (make_small_run(root / "deep-output") / "tree.json").write_text("[" * 3000 + "]" * 3000, encoding="utf-8")
    nested = {"a": 1}
    for _ in range(200):  # valid JSON Python can parse, but deeper than the report will walk
        nested = {"n": nested}
    make_small_run(root / "deep-settings", config={"command": "vislab x", "config": nested})
    big = make_small_run(root / "big")
    with open(big / "config.json", "wb") as f:
        f.truncate(MAX_JSON_BYTES + 1)  # sparse: costs no disk
    with open(big / "metrics.jsonl", "wb") as f:
        f.truncate(MAX_METRICS_BYTES + 1)

    p = parse(build_report([root], tmp_path / "page.html"))
    assert states(p) == {"big": "incomplete", "deep-config": "incomplete", "deep-metrics": "incomplete",
                         "deep-output": "complete", "deep-settings": "incomplete", "deep-status": "incomplete"}
    text = p.all_text
    assert text.count("config.json unreadable (JSON nested too deeply)") == 2
    assert "status.json unreadable (JSON nested too deeply)" in text
    assert "metrics.jsonl: 1 unreadable line(s) (line 2)" in text
    assert [r["loss"] for r in scan_run(root / "deep-metrics").rows] == [1.0, 0.5]  # the good lines still count
    assert "config.json unreadable (too large: 4.0 MiB, the report reads at most 4.0 MiB)" in text
    assert "metrics.jsonl unreadable (too large: 32.0 MiB, the report reads at most 32.0 MiB)" in text
    assert "tree.json" in text  # an output too deep to pretty-print is shown as it is


def test_absurd_numbers_become_text_not_crashes(tmp_path):
    rows = ['{"step": 0, "loss": NaN, "acc": Infinity, "lr": -Infinity, "t": 1}',
            {"step": 1, "loss": 1e308, "acc": -1e308, "lr": 10**400, "t": 2},
            {"step": 2, "loss": "abc", "acc": True, "lr": [1, 2], "t": 3},
            {"step": 10**400, "loss": 2.0, "time": 1e308, "$x^$": 1, "t": 4},
            {"step": 1e308, "loss": -1e308, "time": -1e308, "$x^$": 2, "t": 5},
            {"step": "x", "time": "y", "t": 6}]
    run = make_small_run(tmp_path / "run", rows=rows)
    (run / "status.json").write_text('{"status": "ok", "seconds": ' + "9" * 400 + ', "cpu_seconds": NaN}',
                                     encoding="utf-8")
    page = build_report([run])
    p = parse(page)
    # 10**400 counts as inf: last value inf, no finite min/max; the list it also took is shown as text.
    assert [r[1:4] for r in p.rows if r[0] == "lr"] == [["inf", "", ""], ["[1, 2]"]]
    assert p.row("acc")[1:4] == ["-1e+308", "-1e+308", "-1e+308"]
    assert p.row("$x^$")[1] == "2"  # a name that is broken mathtext, drawn as plain text
    assert p.row("t")[1] == "6"
    assert p.row("duration")[1].endswith("(first to last metrics row)")
    assert p.row("steps logged")[1] == "6 rows, last step 1e+308"
    assert "not a plausible time" in p.row("started")[1]
    curves = [i for i in p.imgs if i["src"].startswith("data:image/png;base64,")]
    assert len(curves) == 1
    Image.open(io.BytesIO(base64.b64decode(curves[0]["src"].split(",", 1)[1]))).verify()
    for img in p.imgs:
        assert img.get("width") is None or img["width"].isdigit()
    # Plots near the float limit: dropped points, never an exception.
    assert plot_series({"m": [(0.0, 1e308), (1.0, -1e308)]}) is None
    series = numeric_series([{"step": 0, "y": 1e99}, {"step": 10**400, "y": 1}])
    assert series == {"y": [(0.0, 1e99), (1.0, 1.0)]}  # a step that is no finite float: its position instead
    assert plot_series(series) is not None


def test_symlinks_out_of_the_run_folder_are_not_read(tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "passwd.txt").write_text("SECRET-TEXT-0451", encoding="utf-8")
    _png(secret / "private.png", color="blue")
    (secret / "config.json").write_text(json.dumps({"command": "SECRET-COMMAND", "config": {}}), encoding="utf-8")
    (secret / "sub").mkdir()
    (secret / "sub" / "inner.txt").write_text("SECRET-INNER", encoding="utf-8")
    other_run = make_small_run(secret / "other-run", config={"command": "SECRET-RUN", "config": {}})

    root = tmp_path / "runs"
    run = make_small_run(root / "run")
    (run / "config.json").unlink()
    os.symlink(secret / "config.json", run / "config.json")
    os.symlink(secret / "passwd.txt", run / "leak.txt")
    os.symlink(secret / "private.png", run / "result.png")
    os.symlink("../../secret/passwd.txt", run / "relative.txt")
    os.symlink(secret / "sub", run / "linked-dir")
    os.symlink(other_run, root / "linked-run")  # a folder of runs does not follow links either
    _png(run / "real.png")
    os.symlink("real.png", run / "alias.png")  # inside the run: fine

    page = build_report([root], tmp_path / "page.html", embed=True)
    html = page.read_text(encoding="utf-8")
    for marker in ("SECRET-TEXT-0451", "SECRET-COMMAND", "SECRET-INNER", "SECRET-RUN"):
        assert marker not in html
    assert base64.b64encode((secret / "private.png").read_bytes()).decode() not in html
    p = parse(page)
    text = p.all_text
    assert "config.json unreadable (links outside the run folder; not read)" in text
    for name in ("leak.txt", "result.png", "relative.txt"):
        assert f"{name}: links outside the run folder; not read" in text
    assert list(states(p)) == ["run"]
    assert [i["alt"] for i in p.imgs if "alt" in i and i["alt"].endswith(".png")] == ["alias.png", "real.png"]


def test_bad_folder_arguments_are_one_line_errors(tmp_path, cli, monkeypatch):
    run = make_small_run(tmp_path / "run")
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    assert_one_line_error(cli("report", tmp_path / "file.txt", "-o", tmp_path / "a.html"), "file.txt", "not a folder")
    os.symlink("loop", tmp_path / "loop")
    assert_one_line_error(cli("report", tmp_path / "loop", "-o", tmp_path / "a.html"), "loop", "cannot read")
    assert_one_line_error(cli("report", "", "-o", tmp_path / "a.html"), "empty run folder name")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        assert_one_line_error(cli("report", tmp_path / "fifo", "-o", tmp_path / "a.html"), "not a folder")

    locked = make_small_run(tmp_path / "locked")
    nested = make_small_run(tmp_path / "nested")
    (nested / "samples").mkdir()
    denied = {locked.resolve(), (nested / "samples").resolve()}
    if os.geteuid() == 0:  # root reads everything: make listing these folders fail the way a chmod 000 would
        real_scandir = os.scandir

        def scandir(path="."):
            if Path(path).resolve() in denied:
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        monkeypatch.setattr(os, "scandir", scandir)
    else:
        for d in denied:
            d.chmod(0)
    try:
        assert_one_line_error(cli("report", locked, "-o", tmp_path / "a.html"), "locked", "permission denied")
        res = cli("report", nested, run, "-o", tmp_path / "b.html")
        assert res.rc == 0, res.err
        assert "samples/: unreadable folder (Permission denied)" in parse(tmp_path / "b.html").all_text
    finally:
        for d in denied:
            d.chmod(0o755)
    assert not (tmp_path / "a.html").exists()  # no half-written page after any of the errors


def test_corrupt_and_bomb_images_are_named_not_embedded(tmp_path):
    run = make_small_run(tmp_path / "run")
    _png_header(run / "bomb.png", 100_000, 100_000)  # over PIL's own limit
    _png_header(run / "big.png", 8_000, 8_000)  # 64 megapixels: over the report's limit, under PIL's
    (run / "garbage.png").write_bytes(os.urandom(2000))
    good = _png(run / "good.png")
    data = good.read_bytes()
    (run / "torn.png").write_bytes(data[: len(data) // 2])
    (run / "text.jpg").write_text("<script>alert(1)</script>", encoding="utf-8")

    p = parse(build_report([run], embed=True))
    text = p.all_text
    assert "big.png: unreadable image (8000x8000 is too large to show)" in text
    for name in ("bomb.png", "garbage.png", "torn.png", "text.jpg"):
        assert f"{name}: unreadable image" in text
    shown = [i for i in p.imgs if i.get("alt") and not i["alt"].startswith("metric curves")]
    assert [i["alt"] for i in shown] == ["good.png"]
    assert shown[0]["src"] == "data:image/png;base64," + base64.b64encode(data).decode()


def test_config_history_is_shown_one_line_per_entry(tmp_path):
    history = [{"command": "vislab gan train --epochs 3", "time": "2026-11-29T07:00:00", "action": "start"},
               {"command": "vislab gan train --resume <b>x</b>", "time": "2026-11-29T08:00:00", "action": "resume"}]
    good = make_small_run(tmp_path / "runs" / "good", config={"command": "vislab gan train --resume",
                                                              "config": {"a": 1}, "history": history})
    make_small_run(tmp_path / "runs" / "none")
    make_small_run(tmp_path / "runs" / "not-a-list", config={"command": "c", "config": {}, "history": "resume"})
    junk = [5, "x", None, {}, {"command": ["a", 1], "time": 3}, {"action": "resume"}]
    make_small_run(tmp_path / "runs" / "junk", config={"command": "c", "config": {}, "history": junk})

    page = build_report([tmp_path / "runs"])
    html = page.read_text(encoding="utf-8")
    assert html.count("<h3>History</h3>") == 2  # good and junk; not for "none" or "not-a-list"
    section = html.split('id="run-1"')[1].split("</section>")[0]
    assert "good" in section
    items = section.split('<ol class="history">')[1].split("</ol>")[0].split("<li>")[1:]
    assert len(items) == 2
    assert "2026-11-29T08:00:00" in items[1] and "resume" in items[1] and "&lt;b&gt;x&lt;/b&gt;" in items[1]
    text = parse(page).all_text
    assert "config.json: 'history' is not a list" in text
    assert "config.json: 4 unreadable 'history' entries" in text
    assert '["a", 1]' in text
    assert states(parse(page))["good"] == "complete"
    assert good.is_dir()


def test_garbage_bytes_odd_names_and_injected_markup(tmp_path):
    root = tmp_path / "runs"
    garbage = make_small_run(root / "garbage")
    (garbage / "config.json").write_bytes(b"\x97\x00" + os.urandom(3000))
    (garbage / "metrics.jsonl").write_bytes(b"\xff\xfe{}\n" + os.urandom(3000) + b'\n{"step": 1, "loss": 2}\n')
    (garbage / "status.json").write_bytes(b"\xff\xfe\x00{")
    (garbage / "blob.txt").write_bytes(bytes(range(256)) * 4)
    folder = make_small_run(root / "folder-config")
    (folder / "config.json").unlink()
    (folder / "config.json").mkdir()
    (make_small_run(root / "null") / "config.json").write_text("null", encoding="utf-8")  # JSON, not an object

    evil = "<script>alert(1)</script>\"'\x00\x1b\ud800"  # markup, quotes, controls, a lone surrogate
    long = "L" * 1_000_000
    config = {"command": evil + long, "vislab_version": evil, "config": {evil: evil, "long": long},
              "history": [{"command": evil, "time": evil, "action": evil}]}
    inject = make_small_run(root / "inject", config=config,
                            rows=[{"step": 0, evil: evil, "x" * 100_000: 1, "n": 1}, {"step": 1, "n": 2}])
    status = {"status": evil, "message": evil + long, "headline": evil}
    (inject / "status.json").write_text(json.dumps(status), encoding="utf-8")
    (inject / "<img src=x onerror=alert(1)>.txt").write_text(evil, encoding="utf-8", errors="surrogatepass")
    try:  # a file name that is not UTF-8 (not possible on every filesystem)
        odd_name = _png(Path(os.fsdecode(os.fsencode(inject) + b"/bad\xff.png")))
    except OSError:
        odd_name = None

    page = build_report([root], tmp_path / "page.html", title=evil)
    data = page.read_bytes()
    html = data.decode("utf-8")  # strict: no surrogates made it into the file
    assert len(data) < 1_000_000  # a megabyte string is cut, not copied in full (several times)
    for bad in ("<script", "<img src=x", "\x00", "\x1b"):
        assert bad not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;" in html
    p = parse(page)
    assert states(p) == {"folder-config": "incomplete", "garbage": "incomplete", "null": "incomplete",
                         "inject": evil[:40]
                         .replace("\x00", "\ufffd").replace("\x1b", "\ufffd").replace("\ud800", "\ufffd")}
    text = p.all_text
    assert "config.json unreadable (not UTF-8 text (byte 0))" in text
    assert "status.json unreadable (not UTF-8 text (byte 0))" in text
    assert "config.json unreadable (not a regular file (a folder))" in text
    assert "config.json is not a JSON object" in text
    assert "blob.txt" in text and "<img src=x onerror=alert(1)>.txt" in text
    if odd_name is not None:  # the link keeps the name's real bytes
        assert [i["src"] for i in p.imgs if "bad" in i["src"]] == ["runs/inject/bad%FF.png"]
