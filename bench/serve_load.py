"""Load on `vislab serve`: a real server process on loopback, 20 concurrent classify jobs and 5 bad uploads.

    .venv/bin/python bench/serve_load.py [--jobs 20] [--workers N] [--keep DIR]
    .venv/bin/python bench/serve_load.py --amplification [--max-memory 2G]

``--amplification`` runs the memory-amplification case instead (issue 22): a 1-bit PNG of 9950x9950 pixels (a
few kB, 99 megapixels: under the pixel limit) is uploaded once, then a classify job names it 3 times. The bar:
the job is refused with one line (413) before anything is decoded, and the server's peak RSS (VmHWM, start-up
included) stays under ``--max-memory``.

Each good job uploads its own picture (a crop of a built-in sample) and classifies it; the bad uploads are an
empty body, a text file, a decompression bomb (a 108-megapixel PNG of ~14 kB), a 1x1 image and a 60 MB file.
Prints: every good job answered (and its run folder complete), every bad upload refused with a message, the
server still up, p50/p95 latency (upload to result), the server's CPU time; then stops the server with SIGINT and
checks it exits cleanly. Exit status 1 when any of that fails. Needs ``pip install "vislab[serve]"``.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HEADERS = {"X-Vislab": "1"}


def request(port: int, method: str, path: str, body: bytes | None = None, timeout: float = 120) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={**HEADERS, "Content-Type": "application/octet-stream"})
        r = conn.getresponse()
        data = r.read()
    except (BrokenPipeError, ConnectionResetError):  # refused before we finished sending: read the answer
        try:
            r = conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException) as e:
            return 0, {"error": f"connection closed ({type(e).__name__})"}
    finally:
        conn.close()
    try:
        return r.status, json.loads(data)
    except ValueError:
        return r.status, {"raw": data[:200].decode(errors="replace")}


def png(arr) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def good_job(port: int, k: int, picture: bytes, out: dict) -> None:
    t0 = time.perf_counter()
    status, up = request(port, "POST", "/api/uploads", picture)
    if status != 201:
        out[k] = {"ok": False, "why": f"upload {status} {up}"}
        return
    body = json.dumps({"kind": "classify", "settings": {"images": [up["id"]], "topk": 3}}).encode()
    status, job = request(port, "POST", "/api/jobs", body)
    if status != 202:
        out[k] = {"ok": False, "why": f"submit {status} {job}"}
        return
    places = [job.get("position")]
    while job["state"] in ("queued", "running"):
        time.sleep(0.1)
        _, job = request(port, "GET", f"/api/jobs/{job['id']}")
        places.append(job.get("position"))
    out[k] = {"ok": job["state"] == "ok" and bool(job.get("result", {}).get("table")), "state": job["state"],
              "run": job.get("run"), "seconds": time.perf_counter() - t0, "first_place": places[0],
              "top1": (job.get("result", {}).get("table") or [{}])[0].get("name")}


def bad_uploads() -> dict[str, bytes]:
    import numpy as np
    from PIL import Image

    bomb = io.BytesIO()
    Image.new("1", (12_000, 9_000)).save(bomb, format="PNG")
    return {"empty": b"", "text": b"just some text, not a picture\n" * 100, "decompression bomb": bomb.getvalue(),
            "1x1 image": png(np.zeros((1, 1, 3), np.uint8)), "huge file (60 MB)": os.urandom(60 * 2**20)}


def start_server(runs: Path, workers: int | None, max_memory: str | None = None) -> tuple[subprocess.Popen, int]:
    cmd = [sys.executable, "-m", "vislab", "serve", "--port", "0", "--runs", str(runs)]
    cmd += ["--workers", str(workers)] if workers else []
    cmd += ["--max-memory", max_memory] if max_memory else []
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        sys.exit(f"server did not start: {line}{proc.stderr.read()}")
    print(line.strip())
    return proc, int(line.split("http://127.0.0.1:")[1].split("/")[0])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kib(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of process `pid`, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def amplification(port: int, pid: int, limit: int) -> list[str]:
    """The issue's memory amplification: one small upload announcing 99 megapixels, named 3 times by a job."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (9950, 9950)).save(buf, format="PNG")
    mib = 1 / 1024
    print(f"1-bit PNG 9950x9950: {len(buf.getvalue()) / 1024:.0f} kB; server RSS at start "
          f"{memory_kib(pid, 'VmRSS') * mib:.0f} MiB, limit {limit / 2**20:.0f} MiB")
    t0 = time.perf_counter()
    status, up = request(port, "POST", "/api/uploads", buf.getvalue(), timeout=600)
    print(f"upload: HTTP {status} in {time.perf_counter() - t0:.1f} s {up}; peak RSS so far "
          f"{memory_kib(pid, 'VmHWM') * mib:.0f} MiB")
    failures = [] if status == 201 else [f"upload not stored: {status} {up}"]
    if status == 201:
        body = json.dumps({"kind": "classify", "settings": {"images": [up["id"]] * 3}}).encode()
        t0 = time.perf_counter()
        status, job = request(port, "POST", "/api/jobs", body)
        print(f"job naming it 3 times: HTTP {status} in {time.perf_counter() - t0:.2f} s {job}")
        message = job.get("error", "")
        if status != 413 or not message or "\n" in message:
            failures.append(f"job not refused with one line: {status} {job}")
    peak = memory_kib(pid, "VmHWM") * 1024
    print(f"server peak RSS {peak / 2**20:.0f} MiB (VmHWM, start-up included), now "
          f"{memory_kib(pid, 'VmRSS') * mib:.0f} MiB; limit {limit / 2**20:.0f} MiB")
    if peak >= limit:
        failures.append(f"peak RSS {peak / 2**20:.0f} MiB not under the limit {limit / 2**20:.0f} MiB")
    return failures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--workers", type=int, default=None, help="passed to vislab serve (default: its own)")
    ap.add_argument("--keep", metavar="DIR", default=None, help="runs folder to use and keep (default: a temp one)")
    ap.add_argument("--amplification", action="store_true", help="run the memory-amplification case instead")
    ap.add_argument("--max-memory", default=None, help="passed to vislab serve (--amplification: default 2G)")
    args = ap.parse_args()
    if args.amplification:
        return run_amplification(args)
    import numpy as np

    from vislab.images import SAMPLE_IMAGES, sample_image

    runs = Path(args.keep or tempfile.mkdtemp(prefix="vislab-serve-load-"))
    proc, port = start_server(runs, args.workers)
    failures: list[str] = []
    try:
        pictures = [png(np.ascontiguousarray(sample_image(SAMPLE_IMAGES[k % len(SAMPLE_IMAGES)])[k:k + 200,
                                                                                            k:k + 240]))
                    for k in range(args.jobs)]
        results: dict[int, dict] = {}
        refusals: dict[str, tuple[int, dict]] = {}
        wall, cpu0 = time.perf_counter(), cpu_seconds(proc.pid)
        threads = [threading.Thread(target=good_job, args=(port, k, pictures[k], results)) for k in range(args.jobs)]
        threads += [threading.Thread(target=lambda n=n, b=b: refusals.__setitem__(n, request(port, "POST",
                                                                                             "/api/uploads", b)))
                    for n, b in bad_uploads().items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall, cpu = time.perf_counter() - wall, cpu_seconds(proc.pid) - cpu0
        failures += report(results, refusals, runs, port, args.jobs)
        print(f"wall {wall:.1f} s for everything; server CPU time {cpu:.1f} s "
              f"(measured on a possibly loaded machine)")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = "killed after 60 s"
    print(f"server stopped with SIGINT: exit status {rc}")
    if rc != 0:
        failures.append(f"server exit status {rc}: {proc.stderr.read()[-500:]}")
    print("FAILED:\n  " + "\n  ".join(failures) if failures else "PASS: no job lost, every bad upload refused")
    return 1 if failures else 0


def run_amplification(args: argparse.Namespace) -> int:
    from vislab.serve.limits import parse_memory

    max_memory = args.max_memory or "2G"
    runs = Path(args.keep or tempfile.mkdtemp(prefix="vislab-serve-amplify-"))
    proc, port = start_server(runs, args.workers, max_memory)
    try:
        failures = amplification(port, proc.pid, parse_memory(max_memory))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
    print("FAILED:\n  " + "\n  ".join(failures) if failures else
          "PASS: the job was refused in one line and the server stayed under its memory limit")
    return 1 if failures else 0


def report(results: dict, refusals: dict, runs: Path, port: int, n: int) -> list[str]:
    failures = []
    good = [r for r in results.values() if r.get("ok")]
    print(f"good jobs answered: {len(good)} of {n}")
    for k in range(n):
        r = results.get(k, {"ok": False, "why": "no answer"})
        if not r.get("ok"):
            failures.append(f"job {k}: {r}")
        elif json.loads((runs / r["run"] / "status.json").read_text())["status"] != "ok":
            failures.append(f"job {k}: run folder {r['run']} not complete")
    places = sorted({r["first_place"] for r in good if r["first_place"]})
    print(f"queue places seen at submission: {places[:3]}...{places[-3:]}" if places else "no job waited")
    for name, (status, body) in refusals.items():
        ok = status in (400, 413, 422) and isinstance(body.get("error"), str) and body["error"]
        print(f"bad upload {name!r}: HTTP {status} {body.get('error', body)!r}")
        if not ok:
            failures.append(f"bad upload {name!r} not refused with a message: {status} {body}")
    status, info = request(port, "GET", "/api/info")
    print(f"server still up: {status == 200}")
    if status != 200:
        failures.append("server not answering after the load")
    _, listed = request(port, "GET", "/api/jobs")
    if len(listed) != n or any(j["state"] != "ok" for j in listed):
        failures.append(f"server lists {len(listed)} jobs, states {sorted({j['state'] for j in listed})}")
    secs = sorted(r["seconds"] for r in good)
    if secs:
        p95 = secs[min(len(secs) - 1, int(round(0.95 * (len(secs) - 1))))]
        print(f"latency (upload to result) p50 {statistics.median(secs):.2f} s, p95 {p95:.2f} s, "
              f"max {secs[-1]:.2f} s")
    return failures


if __name__ == "__main__":
    sys.exit(main())
