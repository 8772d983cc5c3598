"""The first run on a fresh machine (issue 24): a clone with no ../shared and no MNIST anywhere, offline.

    .venv/bin/python quality/first_run.py            # the quick tour's GAN step, as `make demo` runs it
    .venv/bin/python quality/first_run.py --smoke    # the same step at the tests' tiny size (seconds)

Clones this repository's committed HEAD into a temporary folder (not next to ../shared), points VISLAB_DATA at a
folder that does not exist and VISLAB_CACHE at an empty one, and runs, from the clone's sources with this
checkout's Python environment:

1. the tour's GAN step (`vislab tour --quick --steps gan`): its picture's shipped-generator grid must score
   >= 7 by the shipped MNIST scorer, and the report must say that the step's own training used scikit-learn's
   8x8 digits, not MNIST;
2. `vislab gan sample -n 100` with no checkpoint: the grid must score >= 7.

Prints one line per check and exits 1 if any fails. Too slow for the test suite (the quick GAN step trains
500 DCGAN steps); tests/gan/test_shipped_generator.py covers the parts that are fast.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BAR = 7.0

SCORE = """
import json, sys
from vislab.gan import evaluate as ev
from vislab.gan.outputs import grid_tiles
from vislab.images import load_image
scorer = ev.load_scorer("mnist", progress=False, log=lambda m: print(m, file=sys.stderr))
x = grid_tiles(load_image(sys.argv[1]), int(sys.argv[2]))
s = ev.score_images(scorer, x)
print(json.dumps({"mnist_score": s["mnist_score"], "modes": s["modes"], "vislab": ev.__file__}))
"""

SMOKE_TOUR = """
import sys
from vislab.tour import run_tour
r = run_tour(sys.argv[1], level="smoke", device="cpu", only=["gan"])
sys.exit(0 if not r.failed else 1)
"""


def main() -> int:
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--smoke", action="store_true", help="the tour's smoke size instead of --quick")
    a.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    args = a.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vislab-first-run-"))
    clone = tmp / "vislab"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    env = {**os.environ, "VISLAB_DATA": str(tmp / "no-shared-data"), "VISLAB_CACHE": str(tmp / "cache"),
           "PYTHONPATH": str(clone / "src")}
    ok = True

    def run(*cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *cmd], cwd=clone, env=env, capture_output=True, text=True)

    def check(name: str, passed: bool, detail: str) -> None:
        nonlocal ok
        ok &= passed
        print(f"{'PASS' if passed else 'FAIL'}  {name}: {detail}")

    def score(picture: Path, n: int) -> dict:
        r = run("-c", SCORE, str(picture), str(n))
        return json.loads(r.stdout) if r.returncode == 0 else {"mnist_score": 0.0, "error": r.stderr[-500:]}

    t0 = time.perf_counter()
    tour = tmp / "tour"
    r = (run("-c", SMOKE_TOUR, str(tour)) if args.smoke else
         run("-m", "vislab", "tour", "--quick", "--steps", "gan", "--out", str(tour)))
    check("tour GAN step runs", r.returncode == 0, f"exit {r.returncode} ({time.perf_counter() - t0:.0f} s) "
          f"{r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ''}")
    step = next(tour.glob("*-gan"), tour / "07-gan")
    s = score(step / "shipped_samples.png", 64)
    check("demo picture is MNIST digits", s["mnist_score"] >= BAR and (step / "demo.png").is_file(),
          f"shipped grid MNIST score {s['mnist_score']:.2f} (bar {BAR}), from {s.get('vislab', s.get('error'))}")
    config = json.loads((step / "config.json").read_text())["config"] if (step / "config.json").is_file() else {}
    page = (tour / "index.html").read_text() if (tour / "index.html").is_file() else ""
    check("the run says it is not MNIST", config.get("dataset") == "digits"
          and "Data: scikit-learn 8x8 digits, not MNIST" in page,
          f"trained on {config.get('dataset')!r}; the report's data line "
          f"{'is there' if 'Data: scikit-learn 8x8 digits, not MNIST' in page else 'is missing'}")
    r = run("-m", "vislab", "gan", "sample", "-n", "100", "--out", str(tmp / "sample"), "--quiet")
    s = score(tmp / "sample" / "samples.png", 100)
    check("gan sample with no checkpoint", r.returncode == 0 and s["mnist_score"] >= BAR,
          f"exit {r.returncode}, MNIST score {s['mnist_score']:.2f} of 100 samples")
    print(f"{'all passed' if ok else 'FAILED'} in {time.perf_counter() - t0:.0f} s; folder {tmp}"
          f"{'' if args.keep else ' (removed)'}")
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
