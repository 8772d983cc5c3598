"""Running one optimization inside a run folder: config.json, metrics.jsonl, snapshots, the result image."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ImageError
from ..images import save_image
from ..runs import make_run_dir, write_config
from .recorder import Recorder
from .transfer import Result, Step

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


@dataclass
class RunOutput:
    result: Result
    run_dir: Path
    image_path: Path  # where the result was written (--output, or result.png in the run folder)
    summary: dict[str, float]  # the last metrics row: final_* losses of the result (+ any extra metrics)


def run_in_folder(command: str, optimize: Callable[[Callable[[Step], None]], Result], *, out: str | None,
                  output: str | None, save_every: int | None, config: dict[str, Any], overwrite: bool = False,
                  extra_metrics: Callable[[Result], dict[str, float]] | None = None) -> RunOutput:
    """Make the run folder, write its config, run ``optimize(on_step)`` with a `Recorder` as `on_step`, and
    save the result as ``result.png`` there (and to `output` when given). Ctrl-C saves ``interrupted.png``.

    The metrics log gets one row per step (losses of the image entering it) and a last row with the losses of
    the returned image as ``final_total``, ``final_content``, ... plus `extra_metrics(result)`."""
    run_dir = make_run_dir(out, command, overwrite=overwrite)
    write_config(run_dir, config)
    rec = Recorder(run_dir, save_every=save_every or 0)
    with rec.saving_on_interrupt():
        result = optimize(rec)
    path = save_image(result.image, run_dir / "result.png")
    if output is not None and Path(output).resolve() != path.resolve():
        path = save_image(result.image, output)
    summary = {f"final_{k}": v for k, v in result.final.items()}
    summary.update(extra_metrics(result) if extra_metrics else {})
    rec.metrics.log(len(result.history), **summary)
    return RunOutput(result, run_dir, path, summary)


def check_output(output: str | None) -> None:
    """Refuse an output name we could not write before spending minutes on the optimization."""
    if output is not None and Path(output).suffix.lower() not in IMAGE_SUFFIXES:
        raise ImageError(f"{output}: unsupported image file suffix {Path(output).suffix!r} "
                         "(use .png or .jpg)")
    if output is not None and Path(output).is_dir():
        raise ImageError(f"{output}: is a directory; give an image file name")
