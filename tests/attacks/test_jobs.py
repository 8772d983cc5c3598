"""The attack and robustness jobs end to end on the tiny classifier: files, PNGs that still fool when read back,
the curve's two folder layouts, cancel and resume per budget."""

from __future__ import annotations

import json

import pytest
import torch

from vislab import backbones
from vislab.attacks import quantize
from vislab.attacks.attack_job import run as attack
from vislab.attacks.folder import labelled_images
from vislab.attacks.robustness_job import run as robustness
from vislab.attacks.settings import AttackSettings, RobustnessSettings
from vislab.images import load_image

from .conftest import TINY, random_images


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Six random 40 px images on disk, no labels."""
    d = tmp_path_factory.mktemp("imgs")
    random_images(d, 6)
    return d


@pytest.mark.parametrize("kind, eps", [("pgd", 2.0), ("deepfool", None)])
def test_attack_writes_pngs_that_still_fool_when_read_back(tiny, folder, tmp_path, kind, eps):
    images = [str(folder / "img0.png"), str(folder / "img1.png")]
    s = AttackSettings(images=images, model=TINY, attack=kind, eps=eps, steps=3 if kind == "pgd" else 10, seed=0)
    res = attack(s, tmp_path / "run")
    assert res.status == "ok" and res.numbers["success_rate"] == 1.0
    for i, row in enumerate(res.rows):
        stem = tmp_path / "run" / f"{i:02d}_img{i}"
        adv, clean = load_image(f"{stem}_adv.png"), load_image(f"{stem}_clean.png")
        with torch.no_grad():
            pred, before = int(tiny(adv[None]).argmax()), int(tiny(clean[None]).argmax())
        assert (pred, before) == (row["after_class"], row["before_class"]) and pred != before
        assert (adv - clean).abs().max() * 255 == pytest.approx(row["linf_levels"], abs=1e-3)
        if kind == "pgd":
            assert row["linf_levels"] <= 2.0
    table = (tmp_path / "run" / "attack.csv").read_text().splitlines()
    assert len(table) == 3 and table[0].startswith("image,attack,before_class")
    assert json.loads((tmp_path / "run" / "status.json").read_text())["status"] == "ok"


def test_robustness_cancel_then_resume_is_the_uninterrupted_run(folder, tmp_path):
    s = RobustnessSettings(folder=str(folder), model=TINY, eps=(0.0, 1.0, 4.0), steps=2, batch_size=2)
    whole = robustness(s, tmp_path / "whole")
    acc = [r["accuracy"] for r in whole.curve]
    assert acc[0] == 1.0 and acc[-1] < 1.0  # labels are the clean predictions
    assert [r["eps"] for r in whole.curve] == [0.0, 1.0, 4.0]

    calls = []
    stop_at_4th = lambda: calls.append(1) or len(calls) >= 4  # noqa: E731 - eps 1 takes 3 batches
    part = robustness(s, tmp_path / "part", should_stop=stop_at_4th)
    assert part.status == "cancelled" and [r["eps"] for r in part.curve] == [0.0, 1.0]
    kept = (tmp_path / "part" / "eps" / "eps_1.json").stat().st_mtime_ns
    steps = []
    s.resume = True
    done = robustness(s, tmp_path / "part", progress=lambda step, total, **kw: steps.append((step, total)))
    assert done.curve == whole.curve
    assert (tmp_path / "part" / "eps" / "eps_1.json").stat().st_mtime_ns == kept
    assert steps[0] == (6, 18) and steps[-1] == (18, 18)  # eps 0 and 1 skipped, eps 4 measured


def test_resume_with_other_settings_is_refused(folder, tmp_path):
    s = RobustnessSettings(folder=str(folder), model=TINY, eps=(0.0,), steps=1)
    robustness(s, tmp_path / "r")
    s2 = RobustnessSettings(folder=str(folder), model=TINY, eps=(0.0,), steps=2, resume=True)
    with pytest.raises(Exception, match="other settings"):
        robustness(s2, tmp_path / "r")


def test_labels_json_layout_and_minimal_attack_curve(tiny, folder, tmp_path):
    with torch.no_grad():
        p0 = int(tiny(quantize(tiny.prepare(load_image(folder / "img0.png")))).argmax())  # in the job's view
    d = tmp_path / "data"
    (d / "images").mkdir(parents=True)
    for i in (0, 1):
        (d / "images" / f"img{i}.png").write_bytes((folder / f"img{i}.png").read_bytes())
    (d / "labels.json").write_text(json.dumps({"images/img0.png": p0, "images/img1.png": (p0 + 1) % 1000}))
    s = RobustnessSettings(folder=str(d), model=TINY, attack="deepfool", eps=(0.0, 0.01, 10.0), steps=10)
    res = robustness(s, tmp_path / "r")
    acc = [r["accuracy"] for r in res.curve]
    # img1's label is not its prediction (wrong when clean); img0 is fooled by a change between 0.01 and 10
    assert acc == [0.5, 0.5, 0.0] or acc == [0.5, 0.0, 0.0]
    assert (tmp_path / "r" / "robustness.png").is_file() and (tmp_path / "r" / "robustness.csv").is_file()


def test_the_course_samples_layout(shared_data):
    items = labelled_images(shared_data / "imagenet_samples")
    labels = json.loads((shared_data / "imagenet_samples" / "labels.json").read_text())
    assert len(items) == 25 and all(p.is_file() for p, _ in items)
    assert {str(p.relative_to(shared_data / "imagenet_samples")): lab for p, lab in items} == labels
    assert backbones.load(TINY).classes[items[0][1]]  # indices into the ImageNet classes
