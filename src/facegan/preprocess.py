"""The shard step: decode, crop, resize and write one shard of images as TFRecords.

One Snakemake job per shard, so shards are written in parallel. JPEGs (recognised by their bytes,
not their name) are decoded by libjpeg-turbo through simplejpeg, everything else by PIL. The
centred square crop and the antialiased resize happen in one ``Image.resize(box=...)`` call.
Memory stays flat: images stream from disk to the output file. Measured choices are in
BENCHMARKS.md (PIL's JPEG decoder and its draft mode were slower on CelebA-sized images).

Bad input is never fatal and never silent: each skipped file is reported with its reason.
"""

from __future__ import annotations

import logging
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import simplejpeg
from PIL import Image, UnidentifiedImageError

from facegan.files import sha256_file, write_json
from facegan.index import Entry
from facegan.progress import progress
from facegan.tfrecord import TFRecordWriter, image_example_encoder

log = logging.getLogger(__name__)

# Pillow's BILINEAR widens its triangle kernel by the reduction factor: an antialiasing filter
# (like TF's or torchvision's bilinear with antialias=True), 1.4x faster than BICUBIC (BENCHMARKS.md).
RESAMPLE = Image.Resampling.BILINEAR
# Refuse decompression bombs from the header, before decoding, on every decoder's path: no face
# photo has more than ~90 megapixels.
MAX_PIXELS = 90_000_000


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


def _check_size(width: int, height: int, opts: PreprocessOptions) -> None:
    """Reject tiny and huge images from their header, before decoding them."""
    if width * height > MAX_PIXELS:
        raise SkipImage(f"too large: {width}x{height} pixels, more than {MAX_PIXELS:,} (a decompression bomb?)")
    if min(width, height) < opts.min_side:
        raise SkipImage(f"too small: {width}x{height}, preprocess.min_side is {opts.min_side}")


def _decode_jpeg(data: bytes, opts: PreprocessOptions) -> tuple[Image.Image, tuple[int, int]]:
    """Decode with libjpeg-turbo (simplejpeg): ~1.7x faster than PIL's decoder on CelebA's JPEGs.

    When the crop is at least 4x larger than the output, libjpeg decodes at 1/2, 1/4 or 1/8 scale
    directly (``min_height``/``min_width``); below that its scaled IDCT is slower than the full one.
    Raises ValueError for anything libjpeg warns about (truncation, corrupt data).
    """
    height, width, _, _ = simplejpeg.decode_jpeg_header(data)
    _check_size(width, height, opts)
    left, _, right, _ = crop_box(width, height, opts.crop)
    scale = opts.resolution / (right - left)
    kw = {"min_height": int(np.ceil(height * scale)), "min_width": int(np.ceil(width * scale))} if scale <= 0.25 \
        else {}
    # Fast integer IDCT and plain chroma upsampling: their small differences are averaged away when
    # the output is at most half the crop (measured: mean absolute difference < 1 grey level).
    fast = scale <= 0.5
    pixels = simplejpeg.decode_jpeg(data, colorspace="RGB", strict=True, fastdct=fast, fastupsample=fast, **kw)
    img = Image.frombuffer("RGB", (pixels.shape[1], pixels.shape[0]), pixels, "raw", "RGB", 0, 1)
    return _orient(img, (width, height), jpeg_orientation(data))


# EXIF orientation (TIFF tag 0x0112) -> the transpose that shows the photo upright (as PIL's exif_transpose).
ORIENTATION_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                         4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                         6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}


def _orient(img: Image.Image, size: tuple[int, int], orientation: int) -> tuple[Image.Image, tuple[int, int]]:
    """Turn a decoded image upright; ``size`` (the source's, before any scaled decode) turns with it."""
    if orientation not in ORIENTATION_TRANSPOSE:
        return img, size
    return img.transpose(ORIENTATION_TRANSPOSE[orientation]), (size[1], size[0]) if orientation >= 5 else size


def jpeg_orientation(data: bytes) -> int:
    """The EXIF orientation (1-8) in a JPEG's APP1 segment, read from the bytes; 1 when absent or unreadable."""
    i, n = 2, len(data)
    while i + 4 <= n and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xDA, 0xD9):  # start of scan, end of image: no more headers
            break
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if marker == 0xE1 and data[i + 4:i + 10] == b"Exif\0\0":
            return _tiff_orientation(data[i + 10:i + 2 + length])
        i += 2 + length
    return 1


def _tiff_orientation(tiff: bytes) -> int:
    order = {b"II": "little", b"MM": "big"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return 1
    ifd = int.from_bytes(tiff[4:8], order)
    count = int.from_bytes(tiff[ifd:ifd + 2], order) if ifd + 2 <= len(tiff) else 0
    for k in range(count):
        entry = tiff[ifd + 2 + 12 * k:ifd + 14 + 12 * k]
        if len(entry) == 12 and int.from_bytes(entry[:2], order) == 0x0112:
            value = int.from_bytes(entry[8:10], order)
            return value if 1 <= value <= 8 else 1
    return 1


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB with 8 bits per channel. 16- and 32-bit greyscale (PNG, TIFF) is scaled to 0-255, not clipped."""
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        grey = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or grey.max(initial=0) <= 65535 else float(grey.max())
        grey = np.clip(np.rint(grey * (255.0 / top)), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if img.mode == "F":
        grey = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.nanmin(grey)), float(np.nanmax(grey))
        grey = np.rint((grey - lo) * (255.0 / (hi - lo))) if hi > lo else np.zeros_like(grey)
        return Image.fromarray(np.nan_to_num(grey).astype(np.uint8), "L").convert("RGB")
    return img.convert("RGB") if img.mode != "RGB" else img.copy()


def _decode_pil(path: Path, opts: PreprocessOptions) -> tuple[Image.Image, tuple[int, int]]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as img:
            width, height = img.size
            _check_size(width, height, opts)
            img.load()
            orientation = img.getexif().get(0x0112, 1)
            return _orient(_to_rgb(img), (width, height), orientation if isinstance(orientation, int) else 1)


def load_face(path: str | Path, opts: PreprocessOptions) -> np.ndarray:
    """Decode, crop and resize one image to ``(resolution, resolution, 3)`` uint8, or raise SkipImage."""
    return np.asarray(load_face_image(path, opts), dtype=np.uint8)


def load_face_image(path: str | Path, opts: PreprocessOptions) -> Image.Image:
    """:func:`load_face` as an RGB PIL image (the shard writer takes its bytes without numpy)."""
    path = Path(path)
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or device would block or never end
            raise SkipImage("not a regular file (a FIFO, socket, device or folder)")
        data = path.read_bytes()
    except OSError as exc:
        raise SkipImage(f"unreadable: {exc.strerror}") from exc
    if not data:
        raise SkipImage("empty file (0 bytes)")
    img = None
    if data[:3] == b"\xff\xd8\xff":  # JPEG magic, whatever the file is called
        try:
            img, source_size = _decode_jpeg(data, opts)
        except ValueError:
            pass  # corrupt, or a JPEG flavour libjpeg-turbo lacks: PIL decides below and names the reason
    try:
        if img is None:
            img, source_size = _decode_pil(path, opts)
    except SkipImage:
        raise
    except UnidentifiedImageError as exc:
        raise SkipImage("not an image (unrecognised format)") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise SkipImage(f"too large: {exc}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        # PIL raises OSError("image file is truncated ..."), SyntaxError for broken headers.
        raise SkipImage(f"corrupt or truncated: {exc}") from exc
    # The crop is given in source pixels; the decoded image may be a 1/2^k scaled version.
    k = img.width / source_size[0]
    box = tuple(v * k for v in crop_box(*source_size, opts.crop))
    return img.resize((opts.resolution, opts.resolution), RESAMPLE, box=box)


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


def write_shard(entries: list[Entry], shard: int, out_path: str | Path, *, opts: PreprocessOptions,
                report_path: str | Path | None = None) -> ShardReport:
    """Write ``entries`` (all belonging to ``shard``) to ``out_path``; returns and optionally saves a report.

    Each record is a ``tf.train.Example`` with ``image`` (raw uint8 HWC bytes), ``height`` and ``width``.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    report = ShardReport(shard=shard, file=out_path.name)
    encode = image_example_encoder(opts.resolution, opts.resolution)
    with TFRecordWriter(out_path) as writer:
        for entry in progress(entries, total=len(entries), desc=f"shard {shard}", unit="img"):
            try:
                pixels = load_face_image(entry.path, opts).tobytes()
            except SkipImage as exc:
                report.skipped.append({"path": entry.path, "reason": str(exc)})
                log.warning("skipped %s: %s", entry.path, exc)
                continue
            writer.write(encode(pixels))
            report.kept.append((entry.path, entry.split))
    report.images = len(report.kept)
    report.sha256 = sha256_file(out_path)
    log.info("shard %d: kept %d of %d images -> %s", shard, report.images, len(entries), out_path)
    if report_path:
        write_json(report_path, report.to_json(), indent=1)
    return report
