"""The web page runs `attack` from its record like any capability: the same files as the library, the pictures
listed for the page."""

from __future__ import annotations

from tests.serve.conftest import server  # noqa: F401 - the in-process server fixture


def test_the_page_runs_an_attack(server, tmp_path):  # noqa: F811
    from vislab.attacks.attack_job import run
    from vislab.attacks.settings import AttackSettings

    s = server.run("attack", images=["sample:chelsea"], attack="fgsm", eps=2.0)
    assert s["state"] == "ok", s
    shown = [i["label"] for i in s["result"]["images"]]
    assert shown == ["00_chelsea: original", "00_chelsea: adversarial", "00_chelsea: change", "figure"]
    assert [r["image"] for r in s["result"]["table"]] == ["sample:chelsea"]
    direct = run(AttackSettings(images=["sample:chelsea"], attack="fgsm", eps=2.0), tmp_path / "direct")
    files = sorted(p.name for p in (server.root / s["run"]).iterdir() if p.name != ".vislab.lock")
    assert files == sorted(p.name for p in (tmp_path / "direct").iterdir() if p.name != ".vislab.lock")
    assert s["result"]["numbers"]["success_rate"] == direct.numbers["success_rate"]
