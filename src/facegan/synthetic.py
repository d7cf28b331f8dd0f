"""Procedural synthetic faces: an offline stand-in for CelebA's aligned images.

Each face is drawn from a parameter vector sampled from ``numpy.random.default_rng((seed, index))``,
so image ``i`` depends only on ``(seed, i)``: the set is deterministic in ``(seed, count)`` and any
prefix of a larger set equals the smaller set. Images are 178x218 RGB JPEGs named like CelebA's
(``000001.jpg`` ...), with the face roughly where CelebA's alignment puts it, plus a
``list_eval_partition.csv`` (CelebA's split proportions) and ``list_attr_synthetic.csv`` holding the
drawn parameters, so attribute-conditioned analyses have ground truth.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from facegan.progress import progress

log = logging.getLogger(__name__)

WIDTH, HEIGHT = 178, 218
# CelebA's partition sizes 162,770 / 19,867 / 19,962 out of 202,599.
_SPLIT_EDGES = (162_770 / 202_599, (162_770 + 19_867) / 202_599)

SKIN_TONES = np.array(
    [(255, 224, 196), (241, 194, 167), (224, 172, 138), (198, 134, 98), (161, 102, 70), (110, 68, 46), (82, 52, 38)],
    dtype=float,
)
HAIR_COLOURS = np.array(
    [(20, 16, 14), (60, 40, 28), (110, 72, 40), (170, 120, 60), (222, 190, 120), (140, 50, 25), (150, 150, 150)],
    dtype=float,
)
EYE_COLOURS = np.array([(60, 40, 25), (90, 60, 30), (60, 110, 60), (60, 100, 160), (110, 110, 120)], dtype=float)
HAIR_STYLES = ("bald", "short", "long", "bangs", "bun")


@dataclass(frozen=True)
class FaceParams:
    """Everything that varies between faces; also written to the attributes CSV."""

    skin: int
    skin_shade: float
    face_w: float
    face_h: float
    cx: float
    cy: float
    hair_colour: int
    hair_style: int
    hair_volume: float
    eye_spacing: float
    eye_size: float
    eye_colour: int
    brow_tilt: float
    brow_thickness: float
    nose_length: float
    nose_width: float
    mouth_width: float
    smile: float
    glasses: int
    background_r: int
    background_g: int
    background_b: int
    light_angle: float
    light_strength: float


def sample_params(rng: np.random.Generator) -> FaceParams:
    return FaceParams(
        skin=int(rng.integers(len(SKIN_TONES))),
        skin_shade=float(rng.uniform(0.9, 1.08)),
        face_w=float(rng.uniform(46, 60)),
        face_h=float(rng.uniform(60, 76)),
        cx=float(WIDTH / 2 + rng.normal(0, 3)),
        cy=float(122 + rng.normal(0, 3)),
        hair_colour=int(rng.integers(len(HAIR_COLOURS))),
        hair_style=int(rng.choice(len(HAIR_STYLES), p=[0.08, 0.32, 0.3, 0.2, 0.1])),
        hair_volume=float(rng.uniform(6, 20)),
        eye_spacing=float(rng.uniform(15, 23)),
        eye_size=float(rng.uniform(4.5, 8)),
        eye_colour=int(rng.integers(len(EYE_COLOURS))),
        brow_tilt=float(rng.uniform(-3, 4)),
        brow_thickness=float(rng.uniform(2, 5)),
        nose_length=float(rng.uniform(14, 24)),
        nose_width=float(rng.uniform(5, 10)),
        mouth_width=float(rng.uniform(14, 26)),
        smile=float(rng.uniform(-0.3, 1.0)),
        glasses=int(rng.random() < 0.2),
        background_r=int(rng.integers(30, 240)),
        background_g=int(rng.integers(30, 240)),
        background_b=int(rng.integers(30, 240)),
        light_angle=float(rng.uniform(0, 2 * np.pi)),
        light_strength=float(rng.uniform(0.0, 0.35)),
    )


def _rgb(colour) -> tuple[int, int, int]:
    r, g, b = colour
    return min(max(int(r), 0), 255), min(max(int(g), 0), 255), min(max(int(b), 0), 255)


class _Colour(tuple):
    """An RGB triple of floats that scales (``c * 0.8``) and mixes (``c * 0.3 + 60``) without numpy."""

    def __new__(cls, values):
        return super().__new__(cls, (float(v) for v in values))

    def __mul__(self, k):
        return _Colour(v * k for v in self)

    def __add__(self, k):
        return _Colour(v + k for v in self)


# Precomputed unit coordinate grids for the lighting gradient (shared by all images).
_YY, _XX = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
_XX = (_XX - WIDTH / 2) / (WIDTH / 2)
_YY = (_YY - HEIGHT / 2) / (HEIGHT / 2)


def _draw_head(d: ImageDraw.ImageDraw, p: FaceParams, skin: "_Colour", hair: "_Colour") -> None:
    """Hair behind the head, neck and shoulders, ears, the face, and the hair on top."""
    cx, cy, fw, fh = p.cx, p.cy, p.face_w, p.face_h
    style = HAIR_STYLES[p.hair_style]
    v = p.hair_volume
    if style == "long":  # long hair falls to the shoulders
        d.rounded_rectangle((cx - fw - v, cy - fh - v, cx + fw + v, cy + fh + 45), radius=int(fw), fill=_rgb(hair))
    d.rectangle((cx - fw * 0.42, cy + fh * 0.6, cx + fw * 0.42, HEIGHT), fill=_rgb(skin * 0.85))
    d.ellipse((cx - fw * 2.2, cy + fh + 18, cx + fw * 2.2, cy + fh + 140), fill=_rgb(hair * 0.3 + 60))
    for side in (-1, 1):
        ex = cx + side * fw
        d.ellipse((ex - 8, cy - 12, ex + 8, cy + 14), fill=_rgb(skin * 0.93))
    d.ellipse((cx - fw, cy - fh, cx + fw, cy + fh), fill=_rgb(skin))
    if style in ("short", "bangs", "long", "bun"):
        d.chord((cx - fw - v * 0.4, cy - fh - v, cx + fw + v * 0.4, cy + fh * 0.2), 180, 360, fill=_rgb(hair))
    if style == "bangs":  # a fringe hanging a tenth of the face's height below the hair's edge
        edge = cy - fh * 0.4 - v / 2  # the straight edge of the chord above
        d.rectangle((cx - fw * 0.85, cy - fh * 0.8, cx + fw * 0.85, edge + fh * 0.1), fill=_rgb(hair))
    if style == "bun":
        d.ellipse((cx - 16, cy - fh - v - 26, cx + 16, cy - fh - v + 6), fill=_rgb(hair))


def _draw_eyes(d: ImageDraw.ImageDraw, p: FaceParams, hair: "_Colour") -> float:
    """Eyes, irises, pupils, brows and glasses; returns the eyes' height."""
    cx = p.cx
    eye_y = p.cy - p.face_h * 0.12
    es = p.eye_size
    for side in (-1, 1):
        ex = cx + side * p.eye_spacing
        d.ellipse((ex - es * 1.5, eye_y - es, ex + es * 1.5, eye_y + es), fill=(245, 245, 240))
        d.ellipse((ex - es * 0.8, eye_y - es * 0.8, ex + es * 0.8, eye_y + es * 0.8),
                  fill=_rgb(EYE_COLOURS[p.eye_colour]))
        d.ellipse((ex - es * 0.35, eye_y - es * 0.35, ex + es * 0.35, eye_y + es * 0.35), fill=(10, 10, 10))
        by = eye_y - es - 6
        inner, outer = ex - side * es * 1.6, ex + side * es * 1.8
        d.line((inner, by + p.brow_tilt, outer, by - p.brow_tilt), fill=_rgb(hair * 0.8),
               width=int(round(p.brow_thickness)))
    if p.glasses:
        r = es * 2.2
        for side in (-1, 1):
            ex = cx + side * p.eye_spacing
            d.ellipse((ex - r, eye_y - r, ex + r, eye_y + r), outline=(25, 25, 25), width=2)
        d.line((cx - p.eye_spacing + r, eye_y, cx + p.eye_spacing - r, eye_y), fill=(25, 25, 25), width=2)
    return eye_y


def _draw_nose_and_mouth(d: ImageDraw.ImageDraw, p: FaceParams, skin: "_Colour", eye_y: float) -> None:
    cx = p.cx
    ny0, ny1 = eye_y + 4, eye_y + 4 + p.nose_length  # the nose: a shaded wedge
    nw = p.nose_width
    d.polygon([(cx, ny0), (cx - nw / 2, ny1), (cx + nw / 2, ny1)], fill=_rgb(skin * 0.82))
    my = ny1 + 10  # the mouth: a chord whose curvature follows the smile (negative = frown)
    mw = p.mouth_width / 2
    bend = 2 + 9 * abs(p.smile)
    lip = (153, 70, 70)
    if p.smile >= 0:
        d.chord((cx - mw, my - bend, cx + mw, my + bend), 0, 180, fill=lip)
    else:
        d.chord((cx - mw, my, cx + mw, my + 2 * bend), 180, 360, fill=lip)


def _lit(img: Image.Image, p: FaceParams) -> Image.Image:
    """Directional lighting: brighten one side, darken the other."""
    arr = np.asarray(img, dtype=np.float32)
    grad = _XX * np.float32(p.light_strength * np.cos(p.light_angle))
    grad += _YY * np.float32(p.light_strength * np.sin(p.light_angle))
    grad += np.float32(1.0)
    arr *= grad[..., None]
    np.clip(arr, 0, 255, out=arr)
    return Image.fromarray(arr.astype(np.uint8))


def render_face(p: FaceParams) -> Image.Image:
    """Draw one face as a 178x218 RGB PIL image."""
    skin = _Colour(SKIN_TONES[p.skin] * p.skin_shade)
    hair = _Colour(HAIR_COLOURS[p.hair_colour])
    img = Image.new("RGB", (WIDTH, HEIGHT), (p.background_r, p.background_g, p.background_b))
    d = ImageDraw.Draw(img)
    _draw_head(d, p, skin, hair)
    eye_y = _draw_eyes(d, p, hair)
    _draw_nose_and_mouth(d, p, skin, eye_y)
    return _lit(img, p)


def face_jpeg(seed: int, index: int, quality: int = 90) -> tuple[bytes, FaceParams]:
    """JPEG bytes and parameters of face ``index`` (0-based) of the set with ``seed``."""
    rng = np.random.default_rng((seed, index))
    params = sample_params(rng)
    img = render_face(params)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue(), params


def split_of(index: int, count: int) -> int:
    """CelebA-style partition code (0 train, 1 val, 2 test) for image ``index`` of ``count``."""
    frac = index / max(count, 1)
    return 0 if frac < _SPLIT_EDGES[0] else (1 if frac < _SPLIT_EDGES[1] else 2)


def write_synthetic_dataset(out_dir: str | Path, count: int, seed: int) -> Path:
    """Write ``count`` faces in CelebA's aligned layout to ``out_dir/img_align_celeba/``.

    Returns ``out_dir``. Files are written under a temporary name and renamed, so an interrupted
    run never leaves a half-written JPEG behind.
    """
    if count < 1:
        raise ValueError(f"dataset.synthetic_count must be at least 1, got {count}")
    out = Path(out_dir)
    img_dir = out / "img_align_celeba"
    img_dir.mkdir(parents=True, exist_ok=True)
    names = [f.name for f in fields(FaceParams)]
    with open(out / "list_attr_synthetic.csv", "w", newline="") as attr_f, open(
        out / "list_eval_partition.csv", "w", newline=""
    ) as part_f:
        attr_w, part_w = csv.writer(attr_f), csv.writer(part_f)
        attr_w.writerow(["image_id", *names])
        part_w.writerow(["image_id", "partition"])
        for i in progress(range(count), total=count, desc="synthetic faces", unit="img"):
            name = f"{i + 1:06d}.jpg"
            data, params = face_jpeg(seed, i)
            tmp = img_dir / (name + ".part")
            tmp.write_bytes(data)
            tmp.rename(img_dir / name)
            values = asdict(params)
            attr_w.writerow([name, *(round(values[n], 4) if isinstance(values[n], float) else values[n]
                                     for n in names)])
            part_w.writerow([name, split_of(i, count)])
    log.info("wrote %d synthetic faces (seed %d) to %s", count, seed, img_dir)
    return out
