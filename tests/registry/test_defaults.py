"""One set of defaults: every capability's CLI flags, the page's forms (/api/info) and its settings dataclass agree,
and every setting says what it is (help) to both."""

from __future__ import annotations

import argparse

import pytest

from vislab import registry
from vislab.cli import build_parser
from vislab.serve.forms import forms

CAPS = [c.name for c in registry.capabilities()]


def _parsed(cap: registry.Capability) -> tuple[argparse.Namespace, list[str]]:
    """The command line of `cap` with only what it requires (a placeholder for each required value); and the flags
    a command requires though the setting has a default."""
    words = cap.name.split()
    needed = []
    for f in cap.fields():
        if f.name in cap.positional or not registry.required(f):
            continue
        needed += [f.metadata.get("flag") or "--" + f.name.replace("_", "-"), "x"]
    positional = ["x" for name in cap.positional if registry.required(next(f for f in cap.fields() if f.name == name))
                  or registry.field_default(next(f for f in cap.fields() if f.name == name)) in ("", None, [], ())]
    if words[0] == "caption":  # parses the rest of its line itself
        from vislab.cli import caption

        rest = {"train": (caption._train_parser, []), "eval": (caption._eval_parser, ["--checkpoint", "c"])}
        make, extra = rest.get(words[-1], (caption._predict_parser, []))
        return make().parse_args([*positional, *needed, *extra]), extra[:1]
    return build_parser().parse_args([*words, *positional, *needed]), []


@pytest.mark.parametrize("name", CAPS)
def test_cli_defaults_are_the_settings_defaults(name):
    cap = registry.get(name)
    args, given = _parsed(cap)
    for f in cap.fields():
        if f.name in cap.positional or registry.required(f) or not hasattr(args, f.name) or f"--{f.name}" in given:
            continue
        got, want = getattr(args, f.name), registry.field_default(f)
        assert got == want or (isinstance(got, list) and tuple(got) == tuple(want)), (name, f.name, got, want)


def test_page_defaults_are_the_settings_defaults():
    served = {f["kind"]: f for f in forms()}
    assert set(served) == {c.kind for c in registry.capabilities() if c.page}
    for kind, form in served.items():
        fields = {f.name: f for f in registry.get(kind).fields()}
        assert form["fields"], kind
        for spec in form["fields"]:
            want = registry.field_default(fields[spec["name"]])
            assert spec["default"] == (list(want) if isinstance(want, tuple) else want), (kind, spec)
            if spec["choices"] is not None and spec["default"] is not None:  # a list: each item one of them
                chosen = spec["default"] if spec["type"] == "list" else [spec["default"]]
                assert set(chosen) <= set(spec["choices"]), (kind, spec)


@pytest.mark.parametrize("name", CAPS)
def test_every_setting_has_help_and_known_metadata(name):
    for f in registry.get(name).fields():
        assert f.metadata.get("help"), (name, f.name)
        assert set(f.metadata) <= set(registry.FIELD_KEYS), (name, f.name, set(f.metadata) - set(registry.FIELD_KEYS))


def test_page_forms_never_offer_files_devices_or_code():
    for form in forms():
        names = {f["name"] for f in form["fields"]}
        assert not names & {"weights", "device", "output", "save_every", "resume", "data"}, (form["kind"], names)
        model = next((f for f in form["fields"] if f["name"] == "model"), None)
        assert model is None or (model["type"] == "choice" and all(":" not in m for m in model["choices"]))


@pytest.mark.parametrize("name, values", [
    ("fool", {"image": "sample:chelsea", "target": "stingray", "linf": 4 / 255, "max_iters": 7}),
    ("dream", {"class_": "flamingo", "param": "pixel", "blur_sigma": 0.5}),
    ("saliency", {"images": ["a.png", "b.png"], "method": "ig", "tol": 0.02}),
    ("style", {"content": "c.png", "styles": ("a.png", "b.png"), "style_blend_weights": (0.25, 0.75),
               "original_colors": True, "output": "x.png"}),
    ("gan sample", {"n": 9, "raw": True}),
])
def test_the_recorded_command_runs_the_same_settings(name, values):
    """`registry.command_line` (what run folders and the tour record) parsed by the CLI gives the settings back."""
    import shlex

    from vislab.cli.build import settings_of

    cap = registry.get(name)
    settings = cap.settings_class()(**values)
    words = shlex.split(registry.command_line(cap, settings))
    assert words[0] == "vislab"
    args = build_parser().parse_args(words[1:])
    again = settings_of(cap, args) if not name.startswith("gan") else cap.settings_class()(
        **{f.name: getattr(args, f.name) for f in cap.fields()})
    assert again == settings, registry.command_line(cap, settings)
