"""The server's follow-ups to issues 22-24: uploads keep their original names (cleaned, beside the picture, never a
path), web runs record the ``vislab ...`` command that reruns them, a killed server's runs are found by the
queue's markers, /api/info says where runs go and the memory limit, and saliency-eval's table is shown
(shape-checked like every view)."""

from __future__ import annotations

import json
import shlex
import threading

import numpy as np
import pytest

from vislab.serve import recovery, uploads

from .conftest import H, make_client, png_bytes


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("VISLAB_THREADS", "1")


def _upload(server, name: str | None, seed: int = 0) -> dict:
    arr = np.random.default_rng(seed).integers(0, 256, (32, 40, 3), dtype=np.uint8)
    url = "/api/uploads" + ("" if name is None else "?name=" + __import__("urllib.parse").parse.quote(name))
    r = server.c.post(url, content=png_bytes(arr), headers={**H, "Content-Type": "application/octet-stream"})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.parametrize("sent, kept", [
    ("my cat.jpg", "my cat.jpg"),
    ("../../etc/passwd", "passwd"),  # a path's last part only; never used as one
    ("C:\\Users\\me\\holiday photo.png", "holiday photo.png"),
    ("evil\u202egnp.exe\u200b\x00\n.png", "evilgnp.exe .png"),  # no bidi overrides, zero-width marks, controls
    ("a" * 300 + ".jpeg", "a" * (uploads.MAX_NAME - 6) + "\u2026.jpeg"),  # capped, the suffix kept
    ("\x01\x02", None), ("", None), ("a/..", None)])
def test_clean_name(sent, kept):
    assert uploads.clean_name(sent) == kept
    assert kept is None or len(kept) <= uploads.MAX_NAME


def test_an_uploads_name_is_kept_beside_it_and_shown_in_jobs_views_and_history(server):
    up = _upload(server, "../Grumpy \u202ecat.png")
    token = up["id"].removeprefix("upload:")
    assert up["name"] == "Grumpy cat.png"
    stored = sorted(p.name for p in (server.root / ".uploads").iterdir())
    assert stored == [f"{token}.json", f"{token}.png"]  # nothing else written, nowhere else
    assert not (server.root.parent / "Grumpy cat.png").exists()
    s = server.run("classify", images=[up["id"], "sample:coffee"], topk=1)
    assert s["state"] == "ok", s
    assert s["names"] == {token: "Grumpy cat.png"}  # another browser learns it from the server
    assert s["result"]["names"] == {token: "Grumpy cat.png"}
    assert server.c.get(f"/api/view/{s['run']}").json()["names"] == {token: "Grumpy cat.png"}
    row = next(r for r in server.c.get("/api/runs").json() if r["id"] == s["run"])
    assert row["inputs"] == ["Grumpy cat.png", "sample:coffee"]
    assert server.c.get(f"/uploads/{token}.json").status_code == 404  # only the pictures are served


def test_upload_names_that_are_missing_copied_in_or_linked_out_show_as_unnamed(server, tmp_path):
    plain = _upload(server, None)["id"].removeprefix("upload:")
    assert not (server.root / ".uploads" / f"{plain}.json").exists()
    odd = _upload(server, "x.png", seed=1)["id"].removeprefix("upload:")
    (server.root / ".uploads" / f"{odd}.json").write_text(json.dumps({"name": ["not", "a", "name"]}))
    linked = _upload(server, "y.png", seed=2)["id"].removeprefix("upload:")
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"name": "secret"}))
    (server.root / ".uploads" / f"{linked}.json").unlink()
    (server.root / ".uploads" / f"{linked}.json").symlink_to(secret)
    assert uploads.upload_names(server.root, [[f"upload:{t}" for t in (plain, odd, linked)]]) == {}
    s = server.run("classify", images=[f"upload:{t}" for t in (plain, odd, linked)], topk=1)
    assert s["state"] == "ok" and s["names"] == {}
    row = next(r for r in server.c.get("/api/runs").json() if r["id"] == s["run"])
    assert row["inputs"] == ["uploaded picture"] * 3


def test_a_web_run_records_the_command_that_reruns_it(server, tmp_path, cli):
    up = _upload(server, "noise.png")
    s = server.run("classify", images=[up["id"]], topk=2)
    assert s["state"] == "ok", s
    config = json.loads((server.root / s["run"] / "config.json").read_text())
    command = config["command"]
    stored = server.root / ".uploads" / f"{up['id'].removeprefix('upload:')}.png"
    assert command == shlex.join(["vislab", "classify", str(stored), "--topk", "2"]) == s["command"]
    # anyone can rerun it: the CLI reads the same picture with the same settings and predicts the same
    r = cli(*shlex.split(command)[1:], "--out", str(tmp_path / "again"))
    assert r.rc == 0, r.err
    again = json.loads((tmp_path / "again" / "predictions.json").read_text())
    ours = json.loads((server.root / s["run"] / "predictions.json").read_text())
    assert [t["index"] for t in again[0]["top"]] == [t["index"] for t in ours[0]["top"]]
    assert [t["prob"] for t in again[0]["top"]] == pytest.approx([t["prob"] for t in ours[0]["top"]], abs=1e-5)


def test_the_command_is_polled_while_a_job_waits_and_runs(server):
    from vislab import jobs
    from vislab.backbones.classify_job import ClassifySettings

    queue, gate, seen = server.c.app.state.queue, threading.Event(), []

    def held(settings, out, *, progress, should_stop, command):
        seen.append((command, sorted(p.name for p in (server.root / recovery.MARKERS).iterdir())))
        gate.wait(30)
        run_dir = jobs.start_run("classify", settings, out, command=command)
        return jobs.finish_run(jobs.JobResult(run_dir, status="ok"), 0.0)

    first = queue.submit("classify", ClassifySettings(images=["sample:coffee"], topk=4), held)
    second = queue.submit("classify", ClassifySettings(images=["sample:chelsea"]), held)
    waiting = server.c.get(f"/api/jobs/{second.id}").json()
    assert waiting["state"] == "queued" and waiting["command"] == "vislab classify sample:chelsea"
    gate.set()
    assert server.wait(first.id)["command"] == "vislab classify sample:coffee --topk 4"
    server.wait(second.id)
    assert seen[0] == ("vislab classify sample:coffee --topk 4", [first.id])  # marked while it runs
    assert not any((server.root / recovery.MARKERS).iterdir())  # and unmarked once its folder is final


def _left_running(root, name, command, marker=True):
    """What a kill -9 leaves: a run folder with config.json, no status.json (and the queue's marker)."""
    from vislab.runs import write_config

    (root / name).mkdir(parents=True)
    write_config(root / name, {"images": ["sample:coffee"]}, command=command, kind="classify")
    if marker:
        recovery.started(root, name)


def test_a_killed_servers_runs_are_found_by_their_markers_not_their_command(tmp_path):
    root = tmp_path / "runs"
    _left_running(root, "classify-20260101-000000-aaaaaa", "vislab classify sample:coffee")
    _left_running(root, "cli-run", "vislab classify sample:coffee", marker=False)  # a CLI run: not ours
    _left_running(root, "old-server", "vislab serve (classify job old-server)", marker=False)  # before markers
    recovery.started(root, "classify-20260101-000001-bbbbbb")  # killed before its folder was made
    with make_client(root, workers=1, threads=1) as c:
        rows = {r["id"]: r["status"] for r in c.get("/api/runs").json()}
    assert rows == {"classify-20260101-000000-aaaaaa": "interrupted", "old-server": "interrupted",
                    "cli-run": "incomplete"}
    status = json.loads((root / "classify-20260101-000000-aaaaaa" / "status.json").read_text())
    assert status["message"] == recovery.MESSAGE
    assert sorted(p.name for p in (root / recovery.MARKERS).iterdir()) == ["classify-20260101-000001-bbbbbb"]


def test_a_planted_markers_folder_is_never_written_through(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "runs"
    root.mkdir()
    (root / recovery.MARKERS).symlink_to(outside)
    recovery.started(root, "classify-x")
    (outside / "classify-y").write_text("keep")
    recovery.ended(root, "classify-y")
    assert sorted(p.name for p in outside.iterdir()) == ["classify-y"]


def test_info_says_where_runs_go_and_the_memory_limit(tmp_path):
    root = tmp_path / "my runs"
    with make_client(root, workers=1, threads=1, max_memory=123_456_789) as c:
        info = c.get("/api/info").json()
    assert info["runs"] == str(root) and info["limits"]["max_memory"] == 123_456_789


def test_dream_names_an_example_class_for_the_page(server):
    from vislab.backbones import load

    dream = next(f for f in server.c.get("/api/info").json()["forms"] if f["kind"] == "dream")
    example = next(f for f in dream["fields"] if f["name"] == "class_")["example"]
    assert example == "tarantula" and load("efficientnet_lite0").class_index(example) == 76


# -- saliency-eval's table -----------------------------------------------------------------------------------------

def _saliency_eval_run(root, name="saliency-eval-1"):
    """A saliency-eval run folder as the job writes it (its own writer), with made-up scores."""
    import torch

    from vislab import jobs
    from vislab.runs import write_config
    from vislab.visualize import saliency_eval as se

    run = root / name
    run.mkdir(parents=True)
    write_config(run, {"images": ["sample:coffee"]}, command="vislab saliency-eval sample:coffee",
                 kind="saliency-eval")
    rows = [{"image": f"i{i}", "method": m, "target": 1, "deletion_auc": 0.1 * i + k, "insertion_auc": 0.5,
             "road_morf": 0.2, "road_lerf": 0.3 + k, "randomized_rank_corr": -0.25, "seconds": 2.0}
            for k, m in enumerate(["vanilla", "gradcam"]) for i in range(2)]
    result = se.SaliencyEvalResult(run, rows=rows)
    result.table = se.summarize(rows, ["vanilla", "gradcam"])
    se.write_outputs(run, result, {}, torch.zeros(3, 8, 8), None)
    jobs.finish_run(result, 0.0)
    return run, result.table


def test_saliency_eval_shows_its_table_of_methods_and_scores(server):
    from vislab.visualize.saliency_eval import COLUMNS

    run, table = _saliency_eval_run(server.root)
    view = server.c.get(f"/api/view/{run.name}").json()
    assert view["status"] == "ok"
    assert [r["method"] for r in view["table"]] == ["vanilla", "gradcam"]
    for shown, row in zip(view["table"], table):
        assert shown["images"] == 2
        for key, label in COLUMNS.items():
            assert shown[label] == pytest.approx(row[key], rel=1e-12)


@pytest.mark.parametrize("text", [
    "[1, 2]\n",  # not a table
    "method,images,deletion_auc\nvanilla,1\n",  # a short row
    "method,images,deletion_auc\nvanilla,1,lots\n",  # not a number
    "method,images,deletion_auc\nvanilla,1,nan\n",
    "method,images,deletion_auc\n,1,0.5\n",  # no method
    "method,images,deletion_auc\nvanilla,1,\"" + "9" * 200_000 + "\"\n",  # over csv's field limit
    b"method,images\n\xff\xfe,1\n",  # not UTF-8
])
def test_a_malformed_saliency_eval_table_shows_unreadable_never_a_500(server, text):
    run, _ = _saliency_eval_run(server.root)
    data = text if isinstance(text, bytes) else text.encode()
    (run / "faithfulness.csv").write_bytes(data)
    r = server.c.get(f"/api/view/{run.name}")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "unreadable" and "faithfulness.csv" in r.json()["message"]
