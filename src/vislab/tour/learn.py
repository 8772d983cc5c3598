"""Tour steps that train a model from scratch: an LSTM captioner on shapes, a GAN on digits."""

from __future__ import annotations

from pathlib import Path

import torch

from .. import runs
from ..errors import DataError
from ..images import from_array, load_image, save_image
from .annotate import labeled_grid, wrap
from .steps import TourSettings, job_options

SHOWN = 8
"""Test pictures shown with their captions (the first of the test split, as `captioning.data.write_samples`)."""
WRAP = 158  # pixels of caption text per line under a 160 px picture
RIGHT, WRONG, WARNED = "\u2713", "\u2717", "\u26a0"  # check mark, cross, warning sign (DejaVu Sans has them)

CAPTION_QUICK = {"data": "shapes:1600", "epochs": 12, "hidden_dim": 128, "wordvec_dim": 128, "eval_images": 100}
"""The quick tour's captioner: fewer pictures, epochs and units than the defaults (3000, 10, 256). On the test
split, exact true captions: 800 pictures x 8 epochs (the old quick) 31 %, 1600 x 6 51 %, the defaults 62 %
(1600 x 6 with 256 units: 58 % at three times the CPU time), 1600 x 12 63 % (x 16: 60 %; 256 units x 10: 54 %).
The 8 pictures shown are a small sample of that (3-5 of 8 right at these settings; the misses are one shape's
colour, kind or order). Measured with quality/tour_grid.py."""


def caption(run_dir: Path, s: TourSettings) -> str:
    """Train an LSTM captioner (numpy engine) on the built-in shapes dataset, then caption its test images."""
    from ..captioning import checkpoint as cckpt
    from ..captioning import data as cdata
    from ..captioning import evaluate as ceval
    from ..captioning.settings import CaptionTrainSettings
    from ..captioning.train import run

    # Full: the job's defaults (what `vislab caption train` does). Quick: CAPTION_QUICK.
    sizes = s.pick(full={}, quick=CAPTION_QUICK, smoke={"data": "shapes:40", "epochs": 1, "hidden_dim": 16,
                                                        "wordvec_dim": 16, "eval_images": 10, "no_cache": True})
    settings = CaptionTrainSettings(seed=s.seed, device=s.device, **sizes)
    run(settings, run_dir, **job_options("caption train", settings))

    captioner = cckpt.Captioner.load(run_dir)
    data = cdata.load_data(settings.data, feature_spec=captioner.feature_spec, vocab=captioner.vocab,
                           max_length=captioner.max_length, device=s.device, cache=not settings.no_cache)
    ev = ceval.evaluate(captioner, data, "test")
    shown = [int(i) for i in data.split_images("test")[:SHOWN]]  # the pictures `write_samples` saved
    for r, i in zip(ev.records, shown):
        r["picture"] = f"samples/shapes_test_{i}.png"  # so the report puts each caption under its picture
    ceval.write_evaluation(ev, run_dir)  # captions.json and scores.json
    last_step = max((int(r.get("step", 0)) for r in runs.read_metrics(run_dir)), default=0)
    right = sum(r["generated"] in r["references"] for r in ev.records[:SHOWN])
    # Keep training's rows (resume at the last step) and add the test scores after them.
    runs.MetricsLog(run_dir, resume_step=last_step).log(
        last_step, shown_right=right, **{f"test_{k}": v for k, v in ev.scores.items()})
    threshold = captioner.familiarity.threshold if captioner.familiarity else float("nan")
    save_image(_caption_grid(data, ev.records[:SHOWN], shown, run_dir, s, threshold), run_dir / "test_captions.png")
    _attention_maps(run_dir / f"samples/shapes_test_{shown[0]}.png", run_dir / "attention_maps.png", s)
    return "test_captions.png"


def _attention_maps(picture: Path, out: Path, s: TourSettings) -> None:
    """The shipped captioner with attention on one test picture: each word with where it looked."""
    import numpy as np

    from ..captioning.attention_maps import attention_strip
    from ..captioning.predict import describe
    from ..captioning.settings import CaptionSettings

    rec = describe(CaptionSettings(images=[str(picture)], attention=True, device=s.device))[0]
    maps = np.asarray(rec["attention_weights"], dtype=np.float32)
    save_image(attention_strip(load_image(picture), 128, rec["words"], maps), out)


def _caption_grid(data, records: list[dict], shown: list[int], run_dir: Path, s: TourSettings,
                  threshold: float) -> torch.Tensor:
    """The shown test pictures with their generated captions, each marked right (one of the picture's true
    captions) or wrong, and a photo, which the model has never seen the like of, with the warning it gets."""
    from ..captioning.predict import describe
    from ..captioning.settings import CaptionSettings

    shapes = data.extra["shapes"]
    pics = [from_array(shapes.image(i)) for i in shown]
    labels = []
    for r in records:
        lines = wrap(r["generated"], width=WRAP - 14, font_size=12, lines=8)
        mark = RIGHT if r["generated"] in r["references"] else WRONG
        labels.append([f"{mark} {lines[0]}" if lines else mark, *lines[1:]])
    photo = describe(CaptionSettings(images=["sample:chelsea"], checkpoint=str(run_dir), device=s.device))[0]
    pics.append(load_image(photo["image"]))
    warned = (f"{WARNED} unlike the training images (distance {photo['distance']:.1f}, warned above "
              f"{threshold:.1f})" if "warning" in photo else "(no warning)")
    labels.append([*wrap(photo["caption"], width=WRAP, font_size=12, lines=6),
                   *wrap(warned, width=WRAP, font_size=12, lines=3)])
    return labeled_grid(pics, labels, size=160, ncol=3, font_size=12)


def gan(run_dir: Path, s: TourSettings) -> str:
    """Train a DCGAN on MNIST when it is on disk (never downloaded here), else on the built-in 8x8 digits; the
    run folder gets fixed-noise sample grids along the way, the loss curves and a checkpoint, and demo.png: the
    shipped generator's MNIST digits beside this run's samples and losses."""
    from ..gan import data as gdata
    from ..gan.settings import GanTrainSettings
    from ..gan.train import run

    data = "digits"
    if s.level != "smoke":
        try:
            data = gdata.load_mnist(None, "train", download=False).source  # the folder it was found in
        except DataError:
            pass  # not on disk: the built-in digits, as promised (the tour never downloads)
    steps, batch = s.pick(full=(1500, 128), quick=(500, 64), smoke=(2, 16))
    settings = GanTrainSettings(arch="dcgan", loss="bce", max_steps=steps, batch_size=batch, data=str(data),
                                sample_every=max(1, steps // 5), checkpoint_every=max(1, steps // 2),
                                log_every=max(1, steps // 100), eval_samples=0, seed=s.seed, device=s.device)
    run(settings, run_dir, **job_options("gan train", settings))
    # A short CPU run draws blobs (offline, from 8x8 digits): the picture puts the shipped generator's digits
    # beside it, each panel naming its data (gan/demo.py).
    from ..gan.demo import shipped_beside_run

    return shipped_beside_run(run_dir, seed=s.seed, device=s.device).name
