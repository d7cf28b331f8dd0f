"""Pixel conversion and contact sheets, shared by training (progress grids) and export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from facegan.files import atomic_output


def to_uint8(images) -> np.ndarray:
    """Generator output in [-1, 1] -> uint8 [0, 255], rounded to nearest (not truncated), clipped."""
    x = np.asarray(images, dtype=np.float32)
    return np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def to_unit(images_uint8) -> np.ndarray:
    """uint8 [0, 255] -> float32 [-1, 1] (the inverse of :func:`to_uint8` on the 256 levels)."""
    return np.asarray(images_uint8, dtype=np.float32) / 127.5 - 1.0


def grid(images_uint8: np.ndarray, rows: int, cols: int, *, border: int = 2, background: int = 255) -> np.ndarray:
    """Tile ``rows * cols`` HxWx3 images with a ``border``-pixel gap (and margin) of ``background``."""
    n, h, w, c = images_uint8.shape
    if n < rows * cols:
        raise ValueError(f"grid needs {rows * cols} images, got {n}")
    out = np.full((rows * h + (rows + 1) * border, cols * w + (cols + 1) * border, c), background, np.uint8)
    for k in range(rows * cols):
        r, q = divmod(k, cols)
        y, x = border + r * (h + border), border + q * (w + border)
        out[y:y + h, x:x + w] = images_uint8[k]
    return out


def upscale(image: np.ndarray, min_side: int) -> np.ndarray:
    """Nearest-neighbour upscale by an integer factor until the shorter side is >= ``min_side``.

    Small faces (32-64 px) in a grid are unreadably tiny in a report; integer nearest-neighbour keeps
    every generated pixel visible as it is, without inventing detail.
    """
    k = max(1, -(-min_side // min(image.shape[:2])))
    return image.repeat(k, axis=0).repeat(k, axis=1) if k > 1 else image


def save_png(image: np.ndarray, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")
