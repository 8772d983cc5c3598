"""The page starts where the library does: every input the page renders (from ``/api/info`` "forms") holds its
settings dataclass's default (the source the CLI's flag defaults come from too), read back from the DOM of the
real page in headless Chromium; and the forms served agree with the dataclasses."""

from __future__ import annotations

import math

from tests.serve.browser_page import Page, browser, live_server  # noqa: F401 (fixtures)
from vislab import registry

READ_FORMS = """Array.from(document.querySelectorAll('form[data-kind]')).map(f => ({
  kind: f.dataset.kind,
  fields: Array.from(f.querySelectorAll('.field')).map(d => {
    const i = d.querySelector('[name]');
    return {name: d.dataset.name, type: d.dataset.type,
            refs: d.refs ? d.refs.map(r => r.ref) : null,
            chosen: d.classList.contains('choices') ? d.read() : null,
            value: i ? (i.type === 'checkbox' ? i.checked : i.value) : null,
            choice: i && i.tagName === 'SELECT' && d.dataset.type === 'choice' ? i.selectedIndex : null};
  })}))"""


def settings_defaults(kind: str) -> dict:
    return {f.name: registry.field_default(f) for f in registry.get(kind).fields()}


def same(shown, default) -> bool:
    """Whether what an input shows (text, or a checkbox's state) stands for the library's `default`."""
    if isinstance(default, bool) or isinstance(shown, bool):
        return shown is default
    if default is None:
        return shown == ""
    if isinstance(default, (int, float)):
        return shown != "" and math.isclose(float(shown), default)
    if isinstance(default, (list, tuple)):
        items = [s.strip() for s in shown.split(",") if s.strip()]
        if default and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in default):
            # numbers as JavaScript writes them: robustness's eps 0.0 shows as "0" (and is sent back as 0.0)
            return len(items) == len(default) and all(math.isclose(float(s), v) for s, v in zip(items, default))
        return items == [str(v) for v in default]
    return shown == str(default)


def check_field(kind: str, spec: dict, shown: dict, default) -> None:
    if shown["refs"] is not None:  # a picture field: the library's sample, else a built-in one the page picked
        named = [v for v in (default if isinstance(default, (list, tuple)) else [default]) if v]
        assert shown["refs"] == list(named) if named else all(r.startswith("sample:") for r in shown["refs"]), \
            (kind, spec["name"], shown, default)
    elif shown["chosen"] is not None:  # a list of choices: the boxes ticked
        assert shown["chosen"] == list(default), (kind, spec["name"], shown, default)
    elif shown["type"] == "checkpoint":  # "" is the model the library uses when the setting keeps its default
        assert shown["value"] == "", (kind, shown)
    elif shown["choice"] is not None:
        assert spec["choices"][shown["choice"]] == default, (kind, spec["name"], shown, default)
    elif registry.required(next(f for f in registry.get(kind).fields() if f.name == spec["name"])):
        assert shown["value"], (kind, spec["name"])  # an example where the library has no default
    elif spec["type"] == "class" and default is None:  # empty (e.g. the predicted class), or a class to make
        assert shown["value"] in ("", spec.get("example") or "tarantula"), (kind, spec["name"], shown)
    else:
        assert same(shown["value"], default), (kind, spec["name"], shown["value"], default)


def test_every_input_the_page_renders_holds_the_settings_default(live_server, browser):  # noqa: F811
    url, _root = live_server
    page = Page(browser, url)
    page.ready()
    forms = {f.get("kind") or f["name"].replace(" ", "-"): f for f in page.js("fetch('/api/info').then(r => r.json())")
             ["forms"]}
    # Change every number, then press each form's Defaults button: the form comes back to the library's defaults.
    page.js("document.querySelectorAll('form input[type=number]').forEach(i => { i.value = '7'; });"
            "document.querySelectorAll('form button.reset').forEach(b => b.click())")
    rendered = page.js(READ_FORMS)
    assert {r["kind"] for r in rendered} == set(forms) and len(forms) >= 10
    checked = 0
    for r in rendered:
        defaults, specs = settings_defaults(r["kind"]), {f["name"]: f for f in forms[r["kind"]]["fields"]}
        offered = sorted(n for n, s in specs.items() if s.get("page") is not False)
        assert sorted(f["name"] for f in r["fields"]) == offered, r["kind"]
        for shown in r["fields"]:
            check_field(r["kind"], specs[shown["name"]], shown, defaults[shown["name"]])
            checked += 1
    assert checked >= 40, checked
    # With no trained run in the runs folder: the shipped generator is offered, and each model tab shows the
    # command that trains another (never an empty list to "select" from).
    for kind, train in (("caption", "vislab caption train"), ("gan-sample", "vislab gan train")):
        text = page.js(f"document.querySelector('form[data-kind={kind}]').innerText")
        assert train in text and "Please select" not in text, text
    for kind in ("caption", "gan-sample", "gan-eval"):
        assert page.js(f"document.querySelector('form[data-kind={kind}] select[name=checkpoint]').selectedOptions[0]"
                       ".textContent") == "the model that ships with vislab"
    # Dream's class starts at an example so the form runs as it stands; once another objective is typed in, the
    # untouched example is left out (else the library refuses two objectives), while a number such as lr keeps it.
    dream = "tabOfKind('dream')"
    field = "document.querySelector('form[data-kind=dream] [name={}]')"
    assert page.js(f"collect({dream})").get("class_") == "tarantula"
    page.js(f"{field.format('lr')}.value = '0.05'")
    assert page.js(f"collect({dream})").get("class_") == "tarantula"
    page.js(f"{field.format('channel')}.value = 'block5:17'")
    sent = page.js(f"collect({dream})")
    assert "class_" not in sent and sent["channel"] == "block5:17", sent
    page.js(f"{field.format('class_')}.value = 'goldfish'")  # typed by the user: sent, and the library decides
    assert page.js(f"collect({dream})").get("class_") == "goldfish"


def test_the_forms_served_carry_the_settings_defaults(tmp_path):
    from tests.serve.conftest import make_client

    with make_client(tmp_path / "runs", workers=1, threads=1) as c:
        info = c.get("/api/info").json()
    for form in info["forms"]:
        defaults = settings_defaults(form.get("kind") or form["name"])
        for f in form["fields"]:
            if f["type"] != "checkpoint" and f["default"] is not None:
                want = defaults[f["name"]]
                assert f["default"] == (list(want) if isinstance(want, tuple) else want), (form["name"], f)
