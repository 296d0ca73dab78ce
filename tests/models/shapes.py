"""Deterministic pictures of coloured shapes (pure Pillow + ``random``, no numpy, no torch).

Why: the toy CLIP in ``tests/models/toy_shapes/`` is trained on these pictures, and end-to-end
tests write folders of them to check that "red circle" ranks red circles first. Both sides must
draw the same distribution, so there is exactly one generator, importable without torch.

Each picture: a flat grey background of random brightness, one shape (circle, square or
triangle) of a jittered named colour, at a random size and position, slightly rotated, then
down-sampled from 2x (anti-aliasing) and optionally softened by a small blur.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

from PIL import Image, ImageDraw, ImageFilter

#: Named colours (RGB). Distinct hues so a small model can separate them.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (215, 30, 35),
    "green": (35, 165, 50),
    "blue": (35, 70, 220),
    "yellow": (240, 215, 30),
    "orange": (245, 135, 20),
    "purple": (135, 45, 175),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")

#: Caption templates used in training; ``{c}`` colour, ``{s}`` shape.
CAPTION_TEMPLATES: tuple[str, ...] = (
    "{c} {s}",
    "a {c} {s}",
    "a photo of a {c} {s}",
    "a picture of a {c} {s}",
    "a {s} that is {c}",
    "{c} {s} on a grey background",
)


def _polygon(shape: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    """Vertices of a square or an upward triangle of circumradius ``r``, rotated by ``angle``."""
    if shape == "square":
        start, n = math.pi / 4, 4
    else:
        start, n = -math.pi / 2, 3
    return [
        (
            cx + r * math.cos(start + angle + 2 * math.pi * k / n),
            cy + r * math.sin(start + angle + 2 * math.pi * k / n),
        )
        for k in range(n)
    ]


def make_shape_image(color: str, shape: str, size: int = 96, seed: int = 0) -> Image.Image:
    """Return an RGB ``size`` x ``size`` picture of one ``color`` ``shape``; same seed, same pixels."""
    if color not in COLORS:
        raise ValueError(f"unknown colour {color!r}; known: {', '.join(COLORS)}")
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")
    rng = random.Random(f"{color}/{shape}/{size}/{seed}")
    scale = 2
    big = size * scale
    grey = rng.randint(60, 200)
    bg = tuple(max(0, min(255, grey + rng.randint(-12, 12))) for _ in range(3))
    img = Image.new("RGB", (big, big), bg)
    draw = ImageDraw.Draw(img)
    fill = tuple(max(0, min(255, v + rng.randint(-25, 25))) for v in COLORS[color])
    # Circumradius between 22% and 38% of the side, centre kept so the shape stays inside.
    r = big * rng.uniform(0.22, 0.38)
    margin = r * 1.05
    cx = rng.uniform(margin, big - margin)
    cy = rng.uniform(margin, big - margin)
    if shape == "circle":
        draw.ellipse([cx - r * 0.85, cy - r * 0.85, cx + r * 0.85, cy + r * 0.85], fill=fill)
    else:
        angle = math.radians(rng.uniform(-15, 15))
        draw.polygon(_polygon(shape, cx, cy, r, angle), fill=fill)
    img = img.resize((size, size), Image.Resampling.LANCZOS)
    radius = rng.choice([0.0, 0.0, 0.5, 1.0])
    if radius:
        img = img.filter(ImageFilter.GaussianBlur(radius))
    return img


def all_classes() -> list[tuple[str, str]]:
    """Every (colour, shape) pair, in a fixed order."""
    return [(c, s) for c in COLORS for s in SHAPES]


def caption(color: str, shape: str, template: int = 1) -> str:
    """Caption ``template`` (index into :data:`CAPTION_TEMPLATES`) for a colour and shape."""
    return CAPTION_TEMPLATES[template].format(c=color, s=shape)


def iter_dataset(n: int, seed: int = 0, size: int = 96) -> Iterator[tuple[Image.Image, str, str]]:
    """``n`` pictures cycling through all classes: (image, colour, shape)."""
    classes = all_classes()
    for i in range(n):
        color, shape = classes[i % len(classes)]
        yield make_shape_image(color, shape, size, seed * 1_000_003 + i), color, shape
