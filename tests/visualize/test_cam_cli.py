"""`vislab saliency --method gradcam|...|occlusion`, `--layer`, `--list-layers`: the job end to end on a tiny
user model (the maps' numbers are checked against pytorch-grad-cam and captum in test_cam_parity.py)."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import assert_one_line_error
from vislab.runs import read_metrics
from vislab.visualize.cam import GradCAM, LayerCAM
from vislab.visualize.maps import LAYER_METHODS, saliency_maps
from vislab.visualize.occlusion import Occlusion, window_starts

TINY = "tests.visualize.tiny_classifier:build"
NEW = ("gradcam", "gradcam++", "scorecam", "layercam", "guided", "guided-gradcam", "occlusion")


@pytest.mark.parametrize("method", NEW)
def test_every_new_method_runs_as_a_job(cli, tmp_path, method):
    out = tmp_path / method
    r = cli("saliency", "sample:chelsea", "--method", method, "--model", TINY, "--batch-size", "64",
            "--window", "64", "--stride", "64", "--out", out)
    assert r.rc == 0, r.err
    row = read_metrics(out)[0]
    assert (row.get("layer") == "conv") == (method in LAYER_METHODS)
    assert (out / "00_chelsea_overlay.png").is_file() and (out / "00_chelsea_figure.png").is_file()


def test_layer_is_chosen_by_name_and_listed(cli, tmp_path):
    r = cli("saliency", "--list-layers", "--model", TINY)
    assert r.rc == 0, r.err
    assert r.out.split() == ["conv", "8", "x", "55", "x", "55", "(default", "--layer)", "fc", "1000"]
    r = cli("saliency", "sample:coffee", "--method", "gradcam", "--layer", "fc", "--model", TINY, "--out",
            tmp_path / "fc")
    assert_one_line_error(r, "--layer", "(N, C, H, W)")
    r = cli("saliency", "sample:coffee", "--method", "gradcam", "--layer", "nope", "--out", tmp_path / "x")
    assert_one_line_error(r, "--layer", "'nope'", "head")
    assert not (tmp_path / "x").exists() and not (tmp_path / "fc").exists()


def test_bad_occlusion_settings(cli, tmp_path):
    r = cli("saliency", "sample:coffee", "--method", "occlusion", "--window", "8", "--stride", "9", "--out",
            tmp_path / "a")
    assert_one_line_error(r, "--stride", "at most")
    r = cli("saliency", "sample:coffee", "--method", "occlusion", "--window", "300", "--out", tmp_path / "b")
    assert_one_line_error(r, "--window", "224")
    r = cli("saliency", "--model", TINY)
    assert_one_line_error(r, "IMAGE")


class Boxes(torch.nn.Module):
    """Class k's score = the mean of the pixels in box k (a closed form: occlusion and CAMs land in the box)."""

    boxes = ((2, 6, 2, 6), (10, 14, 8, 16))

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.fill_(1 / 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)  # (N, 2, H, W): both channels the pixel mean
        return torch.stack([h[:, k, t:b, l:r].mean(dim=(1, 2)) for k, (t, b, l, r) in enumerate(self.boxes)], 1)


def test_maps_land_in_the_box_that_the_score_reads():
    net, x = Boxes(), torch.full((1, 3, 16, 16), 0.9)
    for k, (t, b, l, r) in enumerate(Boxes.boxes):
        inside = torch.zeros(16, 16, dtype=torch.bool)
        inside[t:b, l:r] = True
        heat = LayerCAM(net, "conv").raw(x, k)[0]  # gradients are 1/area inside the box, 0 outside
        assert heat[inside].min() > 0 and heat[~inside].abs().max() == 0
        flat = GradCAM(net, "conv").raw(x, k)[0]  # one weight per channel: Grad-CAM cannot localize here
        torch.testing.assert_close(flat, torch.full_like(flat, 0.9 / 256))  # w_k = 1/256, A_k = 0.9
        occ = Occlusion(net, window=2, stride=2).attribute(x, k)[0]  # every 2x2 patch in the box drops 0.4 * 4/area
        torch.testing.assert_close(occ[inside], torch.full_like(occ[inside], 0.4 * 4 / inside.sum()))
        assert occ[~inside].abs().max() == 0
        guided = saliency_maps(net, x, k, "guided")[0]
        torch.testing.assert_close(guided, inside.float() / 3 / inside.sum())


def test_window_starts_cover_the_image():
    assert window_starts(10, 4, 3) == [0, 3, 6]
    assert window_starts(10, 4, 4) == [0, 4, 8]  # the last patch is cut off at the border
    assert window_starts(8, 8, 2) == [0]
