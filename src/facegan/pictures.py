"""Pictures made from a trained generator: samples, grid, progress GIF, losses, interpolation, real vs fake.

Every function takes plain paths, so the export rules, the command line (``facegan generate``,
``facegan grid``) and a notebook all call the same code; faces come from :mod:`facegan.generation`.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from facegan.generation import conditioning_of, generate, inputs, latent_dim, noise
from facegan.images import grid, save_png, upscale

log = logging.getLogger(__name__)

MIN_SHEET_SIDE = 512  # small faces are upscaled (nearest neighbour) until a sheet is at least this big


def _require(**values: tuple[int, int]) -> None:
    """ValueError naming the first ``name=(value, minimum)`` below its minimum."""
    for name, (value, low) in values.items():
        if value < low:
            raise ValueError(f"{name} must be at least {low}, got {value}")


SAMPLE_BATCH = 256


def _slice(batch_inputs, start: int, stop: int):
    if isinstance(batch_inputs, list):
        return [b[start:stop] for b in batch_inputs]
    return batch_inputs[start:stop]


def write_samples(generator, out_dir: str | Path, *, n: int, seed: int,
                  fixed: dict[int, int] | None = None) -> list[Path]:
    """``n`` faces as PNG files; a conditioned generator's conditions follow the data, ``fixed`` ones asked for."""
    _require(n=(n, 1))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    z = inputs(generator, noise(n, latent_dim(generator), seed), seed, fixed)
    paths = []
    for start in range(0, n, SAMPLE_BATCH):  # a batch at a time: 50,000 faces never sit in memory at once
        for i, img in enumerate(generate(generator, _slice(z, start, start + SAMPLE_BATCH)), start):
            path = out_dir / f"sample_{i:05d}.png"
            save_png(img, path)
            paths.append(path)
    log.info("wrote %d samples to %s", n, out_dir)
    return paths


def write_grid(generator, out: str | Path, *, rows: int, cols: int, seed: int,
               fixed: dict[int, int] | None = None) -> np.ndarray:
    _require(rows=(rows, 1), cols=(cols, 1))
    images = generate(generator, inputs(generator, noise(rows * cols, latent_dim(generator), seed), seed, fixed))
    sheet = upscale(grid(images, rows, cols), MIN_SHEET_SIDE)
    save_png(sheet, out)
    return sheet


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the tiny bitmap font
        return ImageFont.load_default()


def label_banner(image: np.ndarray, text: str, height: int | None = None) -> np.ndarray:
    """``image`` with a white banner on top holding ``text`` (never drawn over the faces)."""
    height = height or max(24, image.shape[1] // 18)
    banner = Image.new("RGB", (image.shape[1], height), "white")
    draw = ImageDraw.Draw(banner)
    font = _font(int(height * 0.7))
    box = draw.textbbox((0, 0), text, font=font)
    draw.text(((image.shape[1] - (box[2] - box[0])) // 2, (height - (box[3] - box[1])) // 2 - box[1]), text,
              fill="black", font=font)
    return np.concatenate([np.asarray(banner), image], axis=0)


def progress_animation(progress_dir: str | Path, *, out_gif: str | Path, out_mp4: str | Path, out_png: str | Path,
                       fps: float) -> int:
    """The per-epoch grids with epoch labels: a small GIF (at most 24 of them, reduced), an MP4 of them all,
    and the last as PNG."""
    from facegan.animations import pick_frames, shrink, write_gif, write_mp4

    pngs = sorted(Path(progress_dir).glob("epoch_*.png"))
    if not pngs:
        raise FileNotFoundError(f"no epoch_*.png grids in {progress_dir}")
    frames = []
    for p in pngs:
        epoch = int(p.stem.split("_")[1])
        frames.append(label_banner(np.asarray(Image.open(p).convert("RGB")), f"epoch {epoch} / {len(pngs)}"))
    picked = pick_frames(len(frames))
    write_gif([shrink(frames[i]) for i in picked], out_gif, fps=fps, hold_last=3)
    write_mp4(frames, out_mp4, fps=fps, hold_last=3)
    save_png(frames[-1], out_png)
    log.info("progress.gif: %d of %d frames; progress.mp4: all %d", len(picked), len(frames), len(frames))
    return len(frames)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation between latent vectors ``a`` and ``b`` at fractions ``t`` (endpoints exact)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t = np.asarray(t, np.float64)[:, None]
    cos = np.dot(a / np.linalg.norm(a), b / np.linalg.norm(b))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:
        out = (1 - t) * a + t * b
    else:
        out = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
    out[0], out[-1] = a, b
    return out.astype(np.float32)


def interpolation(generator, *, out_png: str | Path, out_gif: str | Path, steps: int, rows: int, seed: int,
                  fps: float = 8) -> np.ndarray:
    """``rows`` rows of faces morphing between random latent pairs; a GIF shows them moving."""
    _require(steps=(steps, 2), rows=(rows, 1))
    dim = latent_dim(generator)
    ends = noise(2 * rows, dim, seed)
    t = np.linspace(0.0, 1.0, steps)
    z = np.concatenate([slerp(ends[2 * r], ends[2 * r + 1], t) for r in range(rows)])
    row_inputs = inputs(generator, ends[::2], seed)
    if isinstance(row_inputs, list):  # conditioned: one draw of the conditions per row, held along it
        z = [z, np.repeat(row_inputs[1], steps, axis=0)]
    images = generate(generator, z)
    save_png(upscale(grid(images, rows, steps), MIN_SHEET_SIDE), out_png)
    from facegan.animations import write_gif

    per_row = images.reshape(rows, steps, *images.shape[1:])
    cols = math.ceil(math.sqrt(rows))  # the morphing faces side by side in a square-ish grid
    frames = [upscale(grid(_fill(per_row[:, k], cols * math.ceil(rows / cols)), math.ceil(rows / cols), cols), 256)
              for k in list(range(steps)) + list(range(steps - 2, 0, -1))]
    write_gif(frames, out_gif, fps=fps)
    return images


def _fill(images: np.ndarray, count: int) -> np.ndarray:
    """``images`` followed by white ones up to ``count``."""
    blank = np.full((count - len(images), *images.shape[1:]), 255, images.dtype)
    return np.concatenate([images, blank]) if len(blank) else images


def real_vs_fake(generator, *, shard_files: list[str], resolution: int, out: str | Path, n: int, seed: int) -> None:
    """A sheet: real faces from the shards on the left, generated ones on the right, labelled."""
    from facegan.reader import read_images

    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    real = read_images(shard_files, resolution, rows * cols, seed=seed, allow_fewer=True)
    if len(real) < rows * cols:  # a data set smaller than the sheet: show what there is
        log.warning("real_vs_fake: %d faces asked for, the data set holds %d", rows * cols, len(real))
        cols = int(np.ceil(np.sqrt(len(real))))
        rows = len(real) // cols
        real = real[:rows * cols]
    fake = generate(generator, inputs(generator, noise(rows * cols, latent_dim(generator), seed), seed))
    left = label_banner(upscale(grid(real, rows, cols), MIN_SHEET_SIDE // 2), "real")
    right = label_banner(upscale(grid(fake, rows, cols), MIN_SHEET_SIDE // 2), "generated")
    gap = np.full((left.shape[0], 16, 3), 255, np.uint8)
    save_png(np.concatenate([left, gap, right], axis=1), out)


def condition_sheet(generator, out: str | Path, *, cols: int, seed: int) -> list[str]:
    """For each conditioned attribute, one row per value, the same noise down each column; the other
    attributes of each column drawn once from the data (among faces whose attribute is known). Returns the
    rows' labels, top to bottom."""
    spec = conditioning_of(generator)
    if spec is None:
        raise ValueError("this generator is not conditioned (model.conditions is empty): it has no conditions.png")
    _require(cols=(cols, 1))
    z = noise(cols, latent_dim(generator), seed)
    rng = np.random.default_rng([seed, 0xC1])
    blocks, labels = [], []
    for a, name in enumerate(spec.names):
        known = [c for c in spec.combos if c[a] >= 0] or list(spec.combos)
        base = np.asarray(known, np.int32)[rng.integers(0, len(known), size=cols)]
        rows = []
        for v, value in enumerate(spec.classes[a]):
            conditions = base.copy()
            conditions[:, a] = v
            rows.append(generate(generator, [z, conditions]))
            labels.append(f"{name}={value}")
        k = max(1, 128 // rows[0].shape[1])  # faces at least 128 px
        blocks.append(grid(np.concatenate(rows), len(rows), cols).repeat(k, axis=0).repeat(k, axis=1))
    font = _font(20)
    margin = 16 + max(ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), t, font=font)[2] for t in labels)
    gap = np.full((12, margin + blocks[0].shape[1], 3), 255, np.uint8)
    out_rows, start = [], 0
    for a, block in enumerate(blocks):
        count = len(spec.classes[a])
        out_rows += [_row_labels(block, labels[start:start + count], margin, font), gap]
        start += count
    save_png(np.concatenate(out_rows[:-1]), out)
    log.info("conditions.png: %d rows (%s)", len(labels), ", ".join(spec.names))
    return labels


def _row_labels(sheet: np.ndarray, labels: list[str], margin: int, font) -> np.ndarray:
    """``sheet`` (``len(labels)`` equal rows) with each row's label written in a ``margin`` to its left."""
    row_h = sheet.shape[0] / len(labels)
    panel = Image.new("RGB", (margin, sheet.shape[0]), "white")
    draw = ImageDraw.Draw(panel)
    for r, text in enumerate(labels):
        box = draw.textbbox((0, 0), text, font=font)
        draw.text((margin - (box[2] - box[0]) - 8, int(r * row_h + (row_h - (box[3] - box[1])) / 2) - box[1]), text,
                  fill="black", font=font)
    return np.concatenate([np.asarray(panel), sheet], axis=1)
