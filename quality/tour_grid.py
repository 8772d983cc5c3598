"""The quick tour beside the full one: one picture pair per step for docs/tour.md, and the checks that say
each picture is the method at work.

    .venv/bin/python quality/tour_grid.py                          # run both tours (the full one takes long)
    .venv/bin/python quality/tour_grid.py --reuse                  # reuse runs/tour-quick and runs/tour-full
    .venv/bin/python quality/tour_grid.py --reuse --write-doc      # and rewrite docs/tour.md's table + pictures
    .venv/bin/python quality/tour_grid.py --reuse --redo dream,style   # rerun two steps in both folders

A tour folder is reused (with --reuse) when every step in it finished ok; otherwise it is run again with
``vislab tour [--quick] --out DIR --overwrite``. Printed per tour: each step's wall and CPU seconds, and
  dream    p(flamingo) of dream.png as saved, after a 24 px shift and after a 1.33x zoom (a picture that only
           fools the network at one exact framing drops; a flamingo the network sees stays high),
  style    the style loss at the end as a fraction of its start, and the result's mean colour beside the
           painting's and the photo's,
  caption  the shown test pictures whose caption is one of their true captions (of 8), the whole test split's
           exact matches, and whether the photo captioned with the shapes model got the out-of-distribution
           warning,
  fool     the network's probability for the target class on the saved fooling image,
  gan      the last logged losses.
Timings depend on the machine's load: compare CPU seconds, and rerun on an idle machine for wall times.
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

from vislab.tour import steps as tour_steps

ROOT = Path(__file__).resolve().parents[1]
STEPS = [name for name, _ in tour_steps()]  # in tour order: step i lives in <tour>/<i:02d>-<name>
DOC = ROOT / "docs" / "tour.md"
PICTURES = ROOT / "docs" / "images" / "tour"
BEGIN, END = "<!-- tour-grid:begin -->", "<!-- tour-grid:end -->"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", default="runs/tour-quick", help="the quick tour's folder")
    ap.add_argument("--full", default="runs/tour-full", help="the full tour's folder")
    ap.add_argument("--reuse", action="store_true", help="reuse a tour folder whose steps all finished ok")
    ap.add_argument("--only", choices=("quick", "full"), help="run or read this tour only")
    ap.add_argument("--write-doc", action="store_true", help="write docs/images/tour/*.jpg and docs/tour.md's table")
    ap.add_argument("--redo", default="", metavar="STEPS",
                    help="comma-separated steps to run again inside the (reused) tour folders, e.g. dream,style: "
                         "new settings compared without rerunning the long GAN step")
    args = ap.parse_args()
    tours = {"quick": ROOT / args.quick, "full": ROOT / args.full}
    if args.only:
        tours = {args.only: tours[args.only]}
    checks = {}
    for level, folder in tours.items():
        if not (args.reuse and _all_ok(folder)):
            _run_tour(level, folder)
        elif args.redo:
            _redo(folder, [n.strip() for n in args.redo.split(",") if n.strip()])
        checks[level] = check_tour(folder)
        _print_checks(level, folder, checks[level])
    if args.write_doc:
        if len(tours) != 2:
            print("--write-doc needs both tours", file=sys.stderr)
            return 2
        _write_doc(tours, checks)
    return 0


def _all_ok(folder: Path) -> bool:
    try:
        return all(_status(folder / f"{i:02d}-{n}")["status"] == "ok" for i, n in enumerate(STEPS, 1))
    except (OSError, ValueError, KeyError):
        return False


def _status(step_dir: Path) -> dict:
    return json.loads((step_dir / "status.json").read_text())


def _run_tour(level: str, folder: Path) -> None:
    cmd = [str(ROOT / ".venv" / "bin" / "vislab"), "tour", "--out", str(folder), "--overwrite"]
    cmd[2:2] = ["--quick"] if level == "quick" else []
    print(f"running: {' '.join(cmd)}", flush=True)
    t0, c0 = time.perf_counter(), _child_cpu()
    subprocess.run(cmd, cwd=ROOT, check=False, stdout=subprocess.DEVNULL)
    print(f"  {level} tour: {time.perf_counter() - t0:.0f} s wall, {_child_cpu() - c0:.0f} s CPU", flush=True)


def _redo(folder: Path, steps: list[str]) -> None:
    from vislab.tour import redo_steps

    t0, c0 = time.perf_counter(), time.process_time()
    redo_steps(folder, steps, device="cpu")
    print(f"  redid {', '.join(steps)} in {folder}: {time.perf_counter() - t0:.0f} s wall, "
          f"{time.process_time() - c0:.0f} s CPU", flush=True)


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# -- checks --------------------------------------------------------------------------------------------------
def check_tour(folder: Path) -> dict[str, dict]:
    """{step: {check name: value}} for the tour in `folder` (missing steps are skipped)."""
    out: dict[str, dict] = {}
    for i, name in enumerate(STEPS, 1):
        d = folder / f"{i:02d}-{name}"
        if not (d / "status.json").is_file():
            continue
        st = _status(d)
        numbers = {"status": st["status"], "seconds": st.get("seconds"), "cpu_seconds": st.get("cpu_seconds")}
        fn = CHECKS.get(name)
        if fn is not None and st["status"] == "ok":
            numbers.update(fn(d))
        out[name] = numbers
    return out


def _metrics(d: Path) -> list[dict]:
    return [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines() if line.strip()]


def _check_dream(d: Path) -> dict:
    from vislab.images import load_image, resize

    bb, idx = _backbone(), _backbone().class_index("flamingo")
    x = resize(load_image(d / "dream.png"), (224, 224))
    views = {"as saved": x, "shifted 24 px": torch.roll(x, (24, -24), (1, 2)),
             "zoomed 1.33x": resize(x[:, 28:196, 28:196], (224, 224))}
    with torch.no_grad():
        return {f"p(flamingo) {k}": round(float(bb.logits(v[None]).softmax(1)[0, idx]), 3) for k, v in views.items()}


def _check_style(d: Path) -> dict:
    from vislab.images import load_image

    rows = [r for r in _metrics(d) if "style" in r]
    config = json.loads((d / "config.json").read_text())["config"]
    rgb = {name: [round(float(v), 2) for v in load_image(p).reshape(3, -1).mean(1)]
           for name, p in (("result", d / "result.png"), ("painting", config["styles"][0]),
                           ("photo", config["content"]))}
    return {"style loss end/start": round(rows[-1]["style"] / rows[0]["style"], 4),
            **{f"mean RGB {k}": v for k, v in rgb.items()}}


def _check_caption(d: Path) -> dict:
    records = json.loads((d / "captions.json").read_text())
    shown = [r for r in records if "picture" in r]
    exact = sum(r["generated"] in r["references"] for r in records)
    return {"shown pictures right": f"{sum(r['generated'] in r['references'] for r in shown)}/{len(shown)}",
            "test split exact": f"{exact}/{len(records)}",
            "test BLEU-4": round(json.loads((d / "scores.json").read_text())["BLEU-4"], 3)}


def _check_fool(d: Path) -> dict:
    r = json.loads((d / "result.json").read_text())
    return {"target": r.get("target_name"), "p(target) after": round(float(r.get("after_prob", float("nan"))), 3)}


def _check_gan(d: Path) -> dict:
    rows = [r for r in _metrics(d) if "d_loss" in r]
    return {"last d_loss": round(rows[-1]["d_loss"], 3), "last g_loss": round(rows[-1]["g_loss"], 3)} if rows else {}


CHECKS = {"dream": _check_dream, "style": _check_style, "caption": _check_caption, "fool": _check_fool,
          "gan": _check_gan}


@functools.lru_cache(maxsize=1)
def _backbone():
    from vislab.backbones import load

    return load("efficientnet_lite0")


def _print_checks(level: str, folder: Path, checks: dict[str, dict]) -> None:
    total = sum(c.get("seconds") or 0 for c in checks.values())
    cpu = sum(c.get("cpu_seconds") or 0 for c in checks.values())
    print(f"\n== {level} tour ({folder}): steps {total:.0f} s wall, {cpu:.0f} s CPU")
    for step, c in checks.items():
        rest = ", ".join(f"{k} {v}" for k, v in c.items() if k not in ("status", "seconds", "cpu_seconds"))
        print(f"  {step:9s} {c['status']:6s} {c['seconds']:7.1f} s  {c['cpu_seconds']:7.1f} s CPU  {rest}")


# -- the doc -------------------------------------------------------------------------------------------------
def _write_doc(tours: dict[str, Path], checks: dict[str, dict]) -> None:
    from vislab.images import load_image, save_image

    PICTURES.mkdir(parents=True, exist_ok=True)
    rows = ["| step | quick (`make demo`) | full (the defaults) | checks: quick / full |", "|---|---|---|---|"]
    for i, name in enumerate(STEPS, 1):
        cells = []
        for level, folder in tours.items():
            d = folder / f"{i:02d}-{name}"
            pic = d / (_status(d).get("headline") or "")
            target = PICTURES / f"{name}-{level}.jpg"  # JPEG: the docs pictures stay small in the repo
            save_image(_fit(load_image(pic), 480), target)  # docs pictures stay small
            cells.append(f"![{name}, {level}](images/tour/{target.name})")
        notes = " / ".join(_summary(checks[level].get(name, {})) for level in tours)
        rows.append(f"| {name} | {cells[0]} | {cells[1]} | {notes} |")
    text = DOC.read_text()
    head, tail = text.split(BEGIN)[0], text.split(END)[1]
    DOC.write_text(f"{head}{BEGIN}\n" + "\n".join(rows) + f"\n{END}{tail}")
    print(f"\nwrote {DOC} and {PICTURES}/*.jpg")


def _summary(c: dict) -> str:
    keep = {k: v for k, v in c.items() if k not in ("status", "mean RGB photo")}
    seconds = f"{keep.pop('seconds', 0) or 0:.0f} s ({keep.pop('cpu_seconds', 0) or 0:.0f} s CPU)"
    return "; ".join([seconds, *(f"{k} {v}" for k, v in keep.items())])


def _fit(img: torch.Tensor, longest: int) -> torch.Tensor:
    from vislab.images import resize

    h, w = img.shape[-2:]
    s = min(1.0, longest / max(h, w))
    return resize(img, (max(1, round(h * s)), max(1, round(w * s))))


if __name__ == "__main__":
    sys.exit(main())
