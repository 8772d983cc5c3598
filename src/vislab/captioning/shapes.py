"""The built-in ``shapes`` dataset: rendered pictures of 1-3 coloured shapes, each with several true captions.

Offline and deterministic from a seed, so training, tests and the quality check need no download. Shapes sit
in left-to-right slots, so captions can say "left of"; every image gets all the phrasings that are true of it
("a small red circle left of a large blue square", "a large blue square right of a small red circle", ...),
the way COCO has five captions per image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

COLORS = {"red": (215, 40, 40), "green": (40, 160, 60), "blue": (45, 85, 215), "yellow": (235, 195, 25),
          "purple": (140, 60, 180)}
KINDS = ("circle", "square", "triangle")
SIZES = {"small": 0.075, "large": 0.14}  # radius as a fraction of the image side
IMAGE_SIZE = 128
SPLIT_FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}
VERSION = 1  # part of the feature-cache key: bump when pictures or captions change


@dataclass(frozen=True)
class Shape:
    kind: str
    color: str
    size: str
    x: float  # centre, fractions of the image side
    y: float

    @property
    def phrase(self) -> str:
        return f"a {self.size} {self.color} {self.kind}"

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the drawn shape, fractions of the image side (as `render` draws it)."""
        r = SIZES[self.size]
        if self.kind == "circle":
            return self.x - r, self.y - r, self.x + r, self.y + r
        if self.kind == "square":
            return self.x - 0.88 * r, self.y - 0.88 * r, self.x + 0.88 * r, self.y + 0.88 * r
        return self.x - 1.1 * r, self.y - 1.1 * r, self.x + 1.1 * r, self.y + 0.8 * r


def random_scene(rng: np.random.Generator) -> list[Shape]:
    """1-3 shapes, one per horizontal slot, listed left to right."""
    n = int(rng.integers(1, 4))
    slot = 1.0 / n
    scene = []
    for i in range(n):
        size = str(rng.choice(list(SIZES)))
        r = SIZES[size]
        room = max(slot / 2 - r - 0.02, 0.0)  # keep shapes inside their slot, so left/right is unambiguous
        x = (i + 0.5) * slot + rng.uniform(-room, room)
        y = rng.uniform(r + 0.05, 1 - r - 0.05)
        scene.append(Shape(str(rng.choice(KINDS)), str(rng.choice(list(COLORS))), size, x, y))
    return scene


def describe(scene: list[Shape]) -> list[str]:
    """Every caption template that is true of the scene (3-4 phrasings)."""
    p = [s.phrase for s in scene]
    if len(p) == 1:
        return [p[0], f"there is {p[0]}", f"{p[0]} on its own", p[0].replace("a ", "a single ", 1)]
    if len(p) == 2:
        return [f"{p[0]} left of {p[1]}", f"{p[1]} right of {p[0]}", f"{p[0]} and {p[1]}",
                f"there is {p[0]} left of {p[1]}"]
    return [f"{p[0]} , {p[1]} and {p[2]}", f"{p[0]} left of {p[1]} left of {p[2]}",
            f"{p[2]} right of {p[1]} right of {p[0]}"]


def render(scene: list[Shape], size: int = IMAGE_SIZE, rng: np.random.Generator | None = None) -> np.ndarray:
    """The scene as uint8 (size, size, 3): drawn at 2x and downsampled, so edges are anti-aliased.
    With `rng`, background and colours are jittered slightly so no two pictures are pixel-identical."""
    s2 = size * 2
    jitter = (lambda: int(rng.integers(-18, 19))) if rng is not None else (lambda: 0)
    bg = tuple(int(np.clip(240 + jitter() // 2, 0, 255)) for _ in range(3))
    im = Image.new("RGB", (s2, s2), bg)
    draw = ImageDraw.Draw(im)
    for sh in scene:
        color = tuple(int(np.clip(c + jitter(), 0, 255)) for c in COLORS[sh.color])
        cx, cy, r = sh.x * s2, sh.y * s2, SIZES[sh.size] * s2
        if sh.kind == "circle":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=color)
        elif sh.kind == "square":
            q = r * 0.88  # a square of the same area as the circle looks the same size
            draw.rectangle([cx - q, cy - q, cx + q, cy + q], fill=color)
        else:
            draw.polygon([(cx, cy - r * 1.1), (cx - r * 1.1, cy + r * 0.8), (cx + r * 1.1, cy + r * 0.8)],
                         fill=color)
    return np.asarray(im.resize((size, size), Image.LANCZOS))


@dataclass
class ShapesDataset:
    """Scenes, their captions and their split, before rendering (pictures are drawn on demand by `image`)."""

    seed: int
    scenes: list[list[Shape]]
    captions: list[list[str]]
    splits: dict[str, np.ndarray]
    image_size: int = IMAGE_SIZE

    def image(self, i: int) -> np.ndarray:
        # Each picture's jitter comes from its own seed, so any one image renders the same in any order.
        return render(self.scenes[i], self.image_size, np.random.default_rng([self.seed, i, 1]))


def make_shapes(num_images: int = 3000, seed: int = 0, image_size: int = IMAGE_SIZE) -> ShapesDataset:
    """`num_images` random scenes split 80/10/10 into train/val/test."""
    rng = np.random.default_rng([seed, 0])
    scenes = [random_scene(rng) for _ in range(num_images)]
    order = rng.permutation(num_images)
    n_train = int(round(num_images * SPLIT_FRACTIONS["train"]))
    n_val = int(round(num_images * SPLIT_FRACTIONS["val"]))
    splits = {"train": np.sort(order[:n_train]), "val": np.sort(order[n_train:n_train + n_val]),
              "test": np.sort(order[n_train + n_val:])}
    return ShapesDataset(seed, scenes, [describe(s) for s in scenes], splits, image_size)
