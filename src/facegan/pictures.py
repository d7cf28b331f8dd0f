"""Pictures made from a trained generator: samples, grid, progress GIF, losses, interpolation, real vs fake.

Every function takes plain paths, so the export rules, the command line (``facegan generate``,
``facegan grid``) and a notebook all call the same code; faces come from :mod:`facegan.generation`.
"""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from facegan.files import atomic_output
from facegan.generation import generate, latent_dim, noise
from facegan.images import grid, save_png, upscale

log = logging.getLogger(__name__)

MIN_SHEET_SIDE = 512  # small faces are upscaled (nearest neighbour) until a sheet is at least this big


def _require(**values: tuple[int, int]) -> None:
    """ValueError naming the first ``name=(value, minimum)`` below its minimum."""
    for name, (value, low) in values.items():
        if value < low:
            raise ValueError(f"{name} must be at least {low}, got {value}")


SAMPLE_BATCH = 256


def write_samples(generator, out_dir: str | Path, n: int, seed: int) -> list[Path]:
    _require(n=(n, 1))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    z = noise(n, latent_dim(generator), seed)
    paths = []
    for start in range(0, n, SAMPLE_BATCH):  # a batch at a time: 50,000 faces never sit in memory at once
        for i, img in enumerate(generate(generator, z[start:start + SAMPLE_BATCH]), start):
            path = out_dir / f"sample_{i:05d}.png"
            save_png(img, path)
            paths.append(path)
    log.info("wrote %d samples to %s", n, out_dir)
    return paths


def write_grid(generator, out: str | Path, rows: int, cols: int, seed: int) -> np.ndarray:
    _require(rows=(rows, 1), cols=(cols, 1))
    images = generate(generator, noise(rows * cols, latent_dim(generator), seed))
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


def progress_animation(progress_dir: str | Path, out_gif: str | Path, out_mp4: str | Path, out_png: str | Path,
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
    write_gif([shrink(frames[i]) for i in picked], out_gif, fps, hold_last=3)
    write_mp4(frames, out_mp4, fps, hold_last=3)
    save_png(frames[-1], out_png)
    log.info("progress.gif: %d of %d frames; progress.mp4: all %d", len(picked), len(frames), len(frames))
    return len(frames)


def smooth(values: list[float], window: int) -> np.ndarray:
    """A centred moving average (shorter at the ends)."""
    x = np.asarray(values, np.float64)
    if len(x) < 3 or window < 2:
        return x
    kernel = np.ones(window)
    return np.convolve(x, kernel, "same") / np.convolve(np.ones_like(x), kernel, "same")


def plot_losses(history_csv: str | Path, out: str | Path, steps_csv: str | Path | None = None) -> None:
    """The losses: per-step values (light, and smoothed) when logged, and the epoch means (dots); below them
    the mean D(x) and D(G(z)) per logged step, as the PyTorch DCGAN tutorial prints them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(history_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{history_csv} has no epochs")
    steps = []
    if steps_csv and Path(steps_csv).exists():
        with open(steps_csv, newline="") as f:
            steps = list(csv.DictReader(f))
    epochs = [int(r["epoch"]) for r in rows]
    fig, axes = plt.subplots(2 if steps else 1, 1, figsize=(8, 7 if steps else 4.5), dpi=120, squeeze=False,
                             sharex=True)
    ax = axes[0, 0]
    for key, label, colour in (("d_loss", "discriminator", "C0"), ("g_loss", "generator", "C1")):
        if steps:
            x = [float(r["epoch"]) for r in steps]
            y = [float(r[f"step_{key}"]) for r in steps]
            ax.plot(x, y, color=colour, alpha=0.25, lw=0.8)
            ax.plot(x, smooth(y, max(3, len(y) // 30)), color=colour, lw=1.5, label=f"{label} (per step, smoothed)")
        ax.plot(epochs, [float(r[key]) for r in rows], "o", ms=3, color=colour, label=f"{label} (epoch mean)")
    ax.set_ylabel("loss")
    ax.set_title("Training losses")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if steps:
        ax2 = axes[1, 0]
        x = [float(r["epoch"]) for r in steps]
        for key, label, colour in (("d_x", "D(x): real", "C2"), ("d_g_z", "D(G(z)): generated", "C3")):
            y = [float(r[key]) for r in steps]
            ax2.plot(x, y, color=colour, alpha=0.25, lw=0.8)
            ax2.plot(x, smooth(y, max(3, len(y) // 30)), color=colour, lw=1.5, label=label)
        ax2.set_ylabel("mean D output")
        ax2.set_ylim(0, 1)
        ax2.grid(alpha=0.3)
        ax2.legend(fontsize=8)
    axes[-1, 0].set_xlabel("epoch")
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out) as tmp:
        fig.savefig(tmp, format=Path(out).suffix[1:])
    plt.close(fig)


def plot_swd(swd_csv: str | Path, out: str | Path) -> list[tuple[int, float]]:
    """SWD (x1e3, average of the levels) per measurement, on a log axis, with the real-data floor drawn as
    the line a perfect generator would sit on; returns the points drawn, (epoch, SWD)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(swd_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    epochs, swd = [], []
    if rows:
        epochs = [int(r["epoch"]) for r in rows]
        swd = [float(r["SWDx1e3_avg"]) for r in rows]
        floor = [s / float(r["swd_vs_floor"]) for s, r in zip(swd, rows)]
        ax.plot(epochs, swd, marker="o", ms=4, label="generator")
        ax.axhline(floor[-1], color="grey", ls="--", label=f"real-data floor ({floor[-1]:.1f})")
        for e, s, r in zip(epochs, swd, rows):
            ax.annotate(f"{float(r['swd_vs_floor']):.1f}x", (e, s), textcoords="offset points", xytext=(0, 6),
                        ha="center", fontsize=8)
        ax.set_yscale("log")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "not measured during training (train.swd_every_epochs is 0)", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlabel("epoch")
    ax.set_ylabel("SWD x1e3 (average of levels)")
    ax.set_title("Quality during training: SWD against the real reference (x = times the floor)")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out) as tmp:
        fig.savefig(tmp, format=Path(out).suffix[1:])
    plt.close(fig)
    return list(zip(epochs, swd))


def plot_attributes(metrics_json: str | Path, out: str | Path) -> int:
    """One panel per attribute: each class's frequency among real and among generated faces, the total
    variation distance in the title; returns the number of panels (0 when the comparison was skipped)."""
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = json.loads(Path(metrics_json).read_text()).get("attributes", {})
    per = result.get("per_attribute", {})
    if not per:
        fig, ax = plt.subplots(figsize=(8, 2.5), dpi=120)
        ax.axis("off")
        ax.text(0.5, 0.5, "attribute coverage not measured:\n" + result.get("skipped", "no classifier"),
                ha="center", va="center", wrap=True, fontsize=9)
    else:
        cols = min(3, len(per))
        rows = -(-len(per) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows + 0.8), dpi=110, squeeze=False)
        for ax, (name, d) in zip(axes.flat, per.items()):
            classes = list(d["real"])
            x = np.arange(len(classes))
            ax.bar(x - 0.2, [100 * d["real"][c] for c in classes], 0.4, label="real")
            ax.bar(x + 0.2, [100 * d["generated"][c] for c in classes], 0.4, label="generated")
            ax.set_xticks(x, classes, rotation=30, ha="right", fontsize=8)
            ax.set_ylabel("% of faces")
            ax.set_title(f"{name} (distance {d['tvd']:.2f})", fontsize=10)
        for ax in list(axes.flat)[len(per):]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=8)
        fig.suptitle(f"Attributes of generated vs real faces: joint coverage {result['joint_coverage']:.2f} "
                     f"({'+'.join(result['joint_attributes'])}; real vs real "
                     f"{result['real_vs_real']['joint_coverage']:.2f})", fontsize=11)
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out) as tmp:
        fig.savefig(tmp, format=Path(out).suffix[1:])
    plt.close(fig)
    return len(per)


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


def interpolation(generator, out_png: str | Path, out_gif: str | Path, steps: int, rows: int, seed: int,
                  fps: float = 8) -> np.ndarray:
    """``rows`` rows of faces morphing between random latent pairs; a GIF shows them moving."""
    _require(steps=(steps, 2), rows=(rows, 1))
    dim = latent_dim(generator)
    ends = noise(2 * rows, dim, seed)
    t = np.linspace(0.0, 1.0, steps)
    z = np.concatenate([slerp(ends[2 * r], ends[2 * r + 1], t) for r in range(rows)])
    images = generate(generator, z)
    save_png(upscale(grid(images, rows, steps), MIN_SHEET_SIDE), out_png)
    from facegan.animations import write_gif

    per_row = images.reshape(rows, steps, *images.shape[1:])
    cols = math.ceil(math.sqrt(rows))  # the morphing faces side by side in a square-ish grid
    frames = [upscale(grid(_fill(per_row[:, k], cols * math.ceil(rows / cols)), math.ceil(rows / cols), cols), 256)
              for k in list(range(steps)) + list(range(steps - 2, 0, -1))]
    write_gif(frames, out_gif, fps)
    return images


def _fill(images: np.ndarray, count: int) -> np.ndarray:
    """``images`` followed by white ones up to ``count``."""
    blank = np.full((count - len(images), *images.shape[1:]), 255, images.dtype)
    return np.concatenate([images, blank]) if len(blank) else images


def real_vs_fake(generator, shard_files: list[str], resolution: int, out: str | Path, n: int, seed: int) -> None:
    """A sheet: real faces from the shards on the left, generated ones on the right, labelled."""
    from facegan.reader import read_images

    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    real = read_images(shard_files, resolution, rows * cols, seed, allow_fewer=True)
    if len(real) < rows * cols:  # a data set smaller than the sheet: show what there is
        log.warning("real_vs_fake: %d faces asked for, the data set holds %d", rows * cols, len(real))
        cols = int(np.ceil(np.sqrt(len(real))))
        rows = len(real) // cols
        real = real[:rows * cols]
    fake = generate(generator, noise(rows * cols, latent_dim(generator), seed))
    left = label_banner(upscale(grid(real, rows, cols), MIN_SHEET_SIDE // 2), "real")
    right = label_banner(upscale(grid(fake, rows, cols), MIN_SHEET_SIDE // 2), "generated")
    gap = np.full((left.shape[0], 16, 3), 255, np.uint8)
    save_png(np.concatenate([left, gap, right], axis=1), out)
