"""Tour steps that train a model from scratch: an LSTM captioner on shapes, a GAN on digits."""

from __future__ import annotations

from pathlib import Path

from .. import runs
from ..errors import DataError
from ..images import from_array, save_image
from .annotate import labeled_grid, wrap
from .steps import Settings, job_options


def caption(run_dir: Path, s: Settings) -> str:
    """Train an LSTM captioner (numpy engine) on the built-in shapes dataset, then caption its test images."""
    from ..captioning import checkpoint as cckpt
    from ..captioning import data as cdata
    from ..captioning import evaluate as ceval
    from ..captioning.settings import CaptionTrainSettings
    from ..captioning.train import run

    n_images, epochs, hidden = s.pick(full=(3000, 10, 256), quick=(800, 8, 128), smoke=(40, 1, 16))
    settings = CaptionTrainSettings(data=f"shapes:{n_images}", epochs=epochs, hidden_dim=hidden,
                                    wordvec_dim=min(128, hidden), eval_images=s.pick(full=0, quick=100, smoke=10),
                                    no_cache=s.level == "smoke", seed=s.seed, device=s.device)
    run(settings, run_dir, **job_options("caption train", settings))

    captioner = cckpt.Captioner.load(run_dir)
    data = cdata.load_data(settings.data, feature_spec=captioner.feature_spec, vocab=captioner.vocab,
                           max_length=captioner.max_length, device=s.device, cache=not settings.no_cache)
    ev = ceval.evaluate(captioner, data, "test")
    ceval.write_evaluation(ev, run_dir)  # captions.json and scores.json
    last_step = max((int(r.get("step", 0)) for r in runs.read_metrics(run_dir)), default=0)
    # Keep training's rows (resume at the last step) and add the test scores after them.
    runs.MetricsLog(run_dir, resume_step=last_step).log(last_step, **{f"test_{k}": v for k, v in ev.scores.items()})

    shapes = data.extra["shapes"]
    generated = {r["image"]: r["generated"] for r in ev.records}
    shown = [int(i) for i in data.split_images("test")[:8]]
    pics = [from_array(shapes.image(i)) for i in shown]
    labels = [wrap(generated.get(data.image_names[i], ""), width=150, font_size=12, lines=3) for i in shown]
    save_image(labeled_grid(pics, labels, size=150, ncol=4, font_size=12), run_dir / "test_captions.png")
    return "test_captions.png"


def gan(run_dir: Path, s: Settings) -> str:
    """Train a DCGAN on MNIST when it is on disk (never downloaded here), else on the built-in 8x8 digits; the
    run folder gets fixed-noise sample grids along the way, the loss curves and a checkpoint."""
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
    return "samples.png"
