"""The shard step: decode, crop, resize and write one shard of images as TFRecords.

One Snakemake job per shard, so shards are written in parallel. Each image is decoded with PIL; for
JPEGs, PIL's draft mode lets libjpeg decode directly at 1/2, 1/4 or 1/8 scale when the output is
small enough (a 178x218 CelebA face to 64x64 decodes at half size), which is most of the speed-up
over decoding at full size. The centred square crop and the resize happen in one antialiased
``Image.resize(box=...)`` call. Memory stays flat: images stream from disk to the output file.

Bad input is never fatal and never silent: each skipped file is reported with its reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from facegan.index import Entry
from facegan.progress import progress
from facegan.tfrecord import TFRecordWriter, encode_example

log = logging.getLogger(__name__)

RESAMPLE = Image.Resampling.LANCZOS
# Refuse decompression bombs early: no face photo has more than ~90 megapixels.
Image.MAX_IMAGE_PIXELS = 90_000_000


class SkipImage(Exception):
    """The image cannot be used; ``str(exc)`` is the reason recorded in stats.json."""


@dataclass(frozen=True)
class PreprocessOptions:
    resolution: int = 64
    crop: int = 0  # side of the centred square crop in source pixels; 0 = the largest square
    min_side: int = 32  # images whose shorter side is smaller are skipped as too small


def crop_box(width: int, height: int, crop: int) -> tuple[float, float, float, float]:
    """Centred square of side ``crop`` (clamped to the image; 0 = largest) as (left, top, right, bottom)."""
    side = min(width, height) if crop <= 0 else min(crop, width, height)
    left, top = (width - side) / 2, (height - side) / 2
    return left, top, left + side, top + side


def load_face(path: str | Path, opts: PreprocessOptions) -> np.ndarray:
    """Decode, crop and resize one image to ``(resolution, resolution, 3)`` uint8, or raise SkipImage."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SkipImage(f"unreadable: {exc.strerror}") from exc
    if size == 0:
        raise SkipImage("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if min(width, height) < opts.min_side:
                    raise SkipImage(f"too small: {width}x{height}, preprocess.min_side is {opts.min_side}")
                box = crop_box(width, height, opts.crop)
                side = box[2] - box[0]
                if img.format == "JPEG" and img.mode in ("RGB", "L"):
                    # Ask libjpeg for the smallest scale that still leaves >= resolution pixels in the crop.
                    scale = opts.resolution / side
                    img.draft(img.mode, (int(np.ceil(width * scale)), int(np.ceil(height * scale))))
                    sx, sy = img.size[0] / width, img.size[1] / height
                    box = (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)
                img.load()
                if img.mode != "RGB":
                    img = img.convert("RGB")
                out = img.resize((opts.resolution, opts.resolution), RESAMPLE, box=box)
                return np.asarray(out, dtype=np.uint8)
    except SkipImage:
        raise
    except UnidentifiedImageError as exc:
        raise SkipImage("not an image (unrecognised format)") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise SkipImage(f"too large: {exc}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        # PIL raises OSError("image file is truncated ..."), SyntaxError for broken headers.
        raise SkipImage(f"corrupt or truncated: {exc}") from exc


@dataclass
class ShardReport:
    shard: int
    file: str
    images: int = 0
    kept: list[tuple[str, str]] = field(default_factory=list)  # (path, split) in record order
    skipped: list[dict] = field(default_factory=list)
    sha256: str = ""

    def to_json(self) -> dict:
        return {"shard": self.shard, "file": self.file, "images": self.images, "sha256": self.sha256,
                "kept": self.kept, "skipped": self.skipped}


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_shard(entries: list[Entry], shard: int, out_path: str | Path, opts: PreprocessOptions,
                report_path: str | Path | None = None) -> ShardReport:
    """Write ``entries`` (all belonging to ``shard``) to ``out_path``; returns and optionally saves a report.

    Each record is a ``tf.train.Example`` with ``image`` (raw uint8 HWC bytes), ``height`` and ``width``.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    report = ShardReport(shard=shard, file=out_path.name)
    with TFRecordWriter(out_path) as writer:
        for entry in progress(entries, total=len(entries), desc=f"shard {shard}", unit="img"):
            try:
                pixels = load_face(entry.path, opts)
            except SkipImage as exc:
                report.skipped.append({"path": entry.path, "reason": str(exc)})
                log.warning("skipped %s: %s", entry.path, exc)
                continue
            writer.write(encode_example({"image": pixels.tobytes(), "height": opts.resolution,
                                         "width": opts.resolution}))
            report.kept.append((entry.path, entry.split))
    report.images = len(report.kept)
    report.sha256 = file_sha256(out_path)
    log.info("shard %d: kept %d of %d images -> %s", shard, report.images, len(entries), out_path)
    if report_path:
        Path(report_path).write_text(json.dumps(report.to_json(), indent=1) + "\n")
    return report
