"""`vislab caption IMAGE --attention --out DIR`: the attention strip is shown by `vislab report` (a picture of the
run, in the page) and by the web page's caption panel (`serve.views.result_view`, whose images the page draws)."""

from __future__ import annotations

import json
from urllib.parse import quote

from vislab.report import build_report
from vislab.report.scan import scan_run
from vislab.serve.views import result_view

from .test_attention_train import ATT
from .tiny_runs import train_tiny


def test_report_and_page_show_the_attention_strip(tmp_path, cli):
    run = train_tiny(tmp_path / "run", **ATT)
    out = tmp_path / "runs" / "cap"
    r = cli("caption", "sample:chelsea", "--checkpoint", run.run_dir, "--attention", "--out", out)
    assert r.rc == 0, r.err
    strip = json.loads((out / "captions.json").read_text())[0]["attention"]
    assert (out / strip).is_file() and strip.startswith("attention_")

    # the report: the strip is one of the run's pictures, drawn in the page
    assert strip in [im.rel for im in scan_run(out).images]
    page = build_report([out], tmp_path / "report.html").read_text()
    assert f'alt="{strip}"' in page

    # the web page: the caption panel's images (the result view the page draws) include the strip
    view = result_view(tmp_path / "runs", out, "caption")
    assert f"/runs/cap/{quote(strip)}" in [im["url"] for im in view["images"]]
    assert view["status"] == "ok"
