"""The built-in shapes dataset: deterministic, and its captions are true of its pictures."""

from __future__ import annotations

import numpy as np

from vislab.captioning.shapes import COLORS, SIZES, describe, make_shapes, render


def test_deterministic_from_the_seed_and_in_any_order():
    a, b = make_shapes(30, seed=3), make_shapes(30, seed=3)
    assert a.captions == b.captions
    assert np.array_equal(a.image(7), b.image(7))
    assert np.array_equal(a.image(7), make_shapes(30, seed=3).image(7))  # rendering order does not matter
    assert a.captions != make_shapes(30, seed=4).captions


def test_splits_partition_the_images():
    d = make_shapes(100, seed=0)
    allidx = np.concatenate([d.splits[s] for s in ("train", "val", "test")])
    assert sorted(allidx.tolist()) == list(range(100))
    assert [len(d.splits[s]) for s in ("train", "val", "test")] == [80, 10, 10]


def test_pictures_show_what_the_captions_say():
    """Read every shape back from the pixels: the colour at its centre is its colour, and its slot order is
    the order the first caption names the shapes in."""
    d = make_shapes(60, seed=1)
    for i in range(60):
        img = d.image(i).astype(int)
        scene = d.scenes[i]
        named = d.captions[i][0].replace(",", "").split()
        for k, shape in enumerate(scene):
            y, x = int(shape.y * img.shape[0]), int(shape.x * img.shape[1])
            if shape.kind == "triangle":
                y += int(0.3 * SIZES[shape.size] * img.shape[0])  # the centroid is below the box centre
            nearest = min(COLORS, key=lambda c: np.abs(img[y, x] - np.array(COLORS[c])).sum())
            assert nearest == shape.color, (i, k, d.captions[i][0])
            assert shape.phrase.split()[1:] == named[named.index(shape.size, 4 * k):][:3]
        xs = [s.x for s in scene]
        assert xs == sorted(xs)


def test_captions_of_two_shapes():
    d = make_shapes(40, seed=2)
    i = next(i for i, s in enumerate(d.scenes) if len(s) == 2)
    a, b = (s.phrase for s in d.scenes[i])
    assert f"{a} left of {b}" in d.captions[i] and f"{b} right of {a}" in d.captions[i]
    assert all(len(c.split()) <= 16 for caps in d.captions for c in caps)


def test_render_without_jitter_uses_exact_colours():
    scene = make_shapes(10, seed=5).scenes[0]
    img = render(scene, 64)
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    assert tuple(img[0, 0]) == (240, 240, 240)
    assert describe(scene)[0].startswith("a ")
