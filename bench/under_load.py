"""vislab on a busy machine: each job's time under load over its time idle, side by side in one run.

    .venv/bin/python bench/under_load.py [--reps 2] [--neighbours 2] [--nice 0] [--modes vislab,legacy,one]

The script starts its own busy neighbours (plain Python busy loops, one process each, as a compile or another
user's job would be) and runs three short jobs, each in a fresh process, idle and under that load, interleaved
(idle, loaded, idle, loaded, ...) so that drift on the machine hits both alike:
- style: `vislab style` at 128 px, 40 L-BFGS iterations (torch, OpenMP);
- gan: 60 DCGAN training steps on the built-in digits (torch, OpenMP);
- caption: one epoch of the numpy LSTM on the built-in shapes data (numpy, OpenBLAS).
Each job is timed inside its process (imports and the first model load excluded: a warm-up run comes first).

Modes (how the job's process is set up):
- vislab: what `vislab` does now (threads from the CPUs this process may use, sleeping waits);
- legacy: what it did before: torch imported before vislab, so OpenMP keeps its default spin-then-sleep
  waits, and 2 threads;
- one: vislab's set-up at one thread;
- spinN (e.g. spin10000): vislab's set-up with OpenMP's waits spinning N times before they sleep (GOMP_SPINCOUNT);
- btoN (e.g. bto4): vislab's set-up with OpenBLAS's idle threads spinning 2**N cycles before they sleep.
Fair share with two busy neighbours on 2 cores is about 1.5x (three runnable processes on two cores).
Printed: median seconds idle and loaded and their ratio, per job and mode; the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

JOBS = ("style", "gan", "caption")


def job_args(job: str, out: str) -> list[str]:
    if job == "style":
        return ["style", "sample:chelsea", "sample:hubble_deep_field", "--image-size", "128",
                "--iterations", "40", "--device", "cpu", "--out", out]
    if job == "gan":
        return ["gan", "train", "--data", "digits", "--arch", "dcgan", "--max-steps", "60", "--batch-size", "64",
                "--eval-samples", "0", "--sample-every", "1000", "--checkpoint-every", "1000", "--quiet",
                "--device", "cpu", "--out", out]
    return ["caption", "train", "--data", "shapes", "--epochs", "1", "--eval-images", "8", "--device", "cpu",
            "--out", out]


def worker(job: str, mode: str) -> None:
    """Run `job` once to warm up (model load, caches), then once timed; print the seconds."""
    if mode == "legacy":
        import torch  # noqa: F401 - before vislab: OpenMP starts with its default (spinning) waits

        torch.set_num_threads(2)
    from vislab.cli import main
    from vislab.machine import configure_threads

    threads = {"legacy": 2, "one": 1}.get(mode)
    with tempfile.TemporaryDirectory() as tmp:
        main(job_args(job, os.path.join(tmp, "warm")) + (["--threads", str(threads)] if threads else []))
        if mode == "legacy":
            configure_threads(2)
        t0 = time.perf_counter()
        main(job_args(job, os.path.join(tmp, "timed")) + (["--threads", str(threads)] if threads else []))
        print(f"SECONDS {time.perf_counter() - t0:.4f}")


def run_worker(job: str, mode: str, nice: int) -> float:
    cmd = [sys.executable, __file__, "--worker", job, "--mode", mode]
    pre = (lambda: os.nice(nice)) if nice else None
    env = dict(os.environ)
    if mode.startswith("spin"):  # spinN: vislab's set-up, OpenMP waiting N spins before it sleeps
        env["GOMP_SPINCOUNT"] = mode[4:]
    if mode.startswith("bto"):  # btoN: vislab's set-up, OpenBLAS threads spinning 2**N cycles before they sleep
        env["OPENBLAS_THREAD_TIMEOUT"] = mode[3:]
    r = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=pre, check=False, env=env)
    for line in r.stdout.splitlines():
        if line.startswith("SECONDS "):
            return float(line.split()[1])
    raise RuntimeError(f"{job}/{mode} failed: {r.stderr[-2000:]}")


def start_neighbours(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.kill()
        p.wait()


def measure(jobs: list[str], modes: list[str], reps: int, neighbours: int, nice: int) -> dict:
    times: dict[tuple[str, str, str], list[float]] = {}
    for rep in range(reps):
        for job in jobs:
            for mode in modes:
                for loaded in (False, True):
                    procs = start_neighbours(neighbours) if loaded else []
                    try:
                        time.sleep(0.5 if loaded else 0.0)  # let the neighbours take their cores
                        s = run_worker(job, mode, nice)
                    finally:
                        stop(procs)
                    key = (job, mode, "loaded" if loaded else "idle")
                    times.setdefault(key, []).append(s)
                    print(f"  rep {rep + 1} {job:8s} {mode:7s} {key[2]:6s} {s:7.2f} s  (load {os.getloadavg()[0]:.2f})",
                          file=sys.stderr, flush=True)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--neighbours", type=int, default=2, help="busy neighbour processes (default 2)")
    ap.add_argument("--nice", type=int, default=0, help="run the jobs at this niceness (background jobs often do)")
    ap.add_argument("--modes", default="vislab,legacy", help="comma-separated: vislab, legacy, one")
    ap.add_argument("--jobs", default=",".join(JOBS))
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="vislab", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(a.worker, a.mode)
        return
    jobs, modes = a.jobs.split(","), a.modes.split(",")
    print(f"{os.cpu_count()} CPUs, {a.neighbours} busy neighbours, nice {a.nice}, {a.reps} reps; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    times = measure(jobs, modes, a.reps, a.neighbours, a.nice)
    print(f"{'job':8s} {'mode':7s} {'idle s':>8s} {'loaded s':>9s} {'loaded/idle':>12s}")
    for job in jobs:
        for mode in modes:
            idle = statistics.median(times[(job, mode, "idle")])
            loaded = statistics.median(times[(job, mode, "loaded")])
            print(f"{job:8s} {mode:7s} {idle:8.2f} {loaded:9.2f} {loaded / idle:11.2f}x")


if __name__ == "__main__":
    main()
