"""A small synthetic dataset made on the spot: no download, works offline.

Used by the app's "Try the sample dataset" button (a first-time user can run
the whole flow in minutes) and by the tests.  Each class is a shape (circle,
square, triangle, ...) drawn at random position, size and colour on a noisy
background, so a tiny CNN can learn it but chance accuracy is well below 100%.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle", "cross", "ring")


def _draw(shape: str, size: int, rng: np.random.Generator) -> Image.Image:
    bg = rng.integers(0, 90, size=3)
    noise = rng.normal(0, 12, size=(size, size, 3))
    arr = np.clip(bg + noise, 0, 255).astype(np.uint8)
    img = Image.fromarray(arr, "RGB")
    draw = ImageDraw.Draw(img)
    r = int(size * rng.uniform(0.18, 0.32))
    cx = int(rng.integers(r, size - r))
    cy = int(rng.integers(r, size - r))
    color = tuple(int(c) for c in rng.integers(140, 256, size=3))
    w = max(2, size // 16)
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=color)
    elif shape == "square":
        draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=color)
    elif shape == "triangle":
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=color)
    elif shape == "cross":
        draw.rectangle([cx - r, cy - w, cx + r, cy + w], fill=color)
        draw.rectangle([cx - w, cy - r, cx + w, cy + r], fill=color)
    elif shape == "ring":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=color, width=w)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return img


def generate_sample_dataset(root: str | Path, classes: Optional[Sequence[str]] = None,
                            per_class: int = 40, size: int = 96, seed: int = 0,
                            fmt: str = "png") -> Path:
    """Write ``per_class`` images of each shape class under ``root/<class>/``.

    Returns ``root``.  Deterministic for a given seed.
    """
    root = Path(root)
    names = list(classes or SHAPES[:3])
    rng = np.random.default_rng(seed)
    for name in names:
        shape = name if name in SHAPES else SHAPES[names.index(name) % len(SHAPES)]
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = _draw(shape, size, rng)
            ext = "jpg" if fmt in ("jpg", "jpeg") else fmt
            img.save(folder / f"{name}_{i:04d}.{ext}")
    return root
