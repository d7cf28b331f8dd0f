import io
import json
import os
import signal
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from facegan.datastats import collect
from facegan.index import Entry
from facegan.preprocess import PreprocessOptions, SkipImage, crop_box, jpeg_orientation, load_face, write_shard

OPTS = PreprocessOptions(resolution=32, crop=0, min_side=32)


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.fixture
def bad_inputs(tmp_path, face_jpeg):
    """Every kind of input the shard step meets in the wild, with whether it must be kept."""
    rgb = Image.new("RGB", (178, 218), (200, 30, 60))
    cases = {
        "good.jpg": (face_jpeg(1), True),
        "truncated.jpg": (face_jpeg(2)[:700], False),
        "empty.jpg": (b"", False),
        "text.jpg": (b"this is not an image at all\n" * 20, False),
        "png_named.jpg": (_save(rgb, "PNG"), True),
        "gray.jpg": (_save(rgb.convert("L"), "JPEG"), True),
        "cmyk.jpg": (_save(rgb.convert("CMYK"), "JPEG"), True),
        "tiny.jpg": (_save(rgb.resize((20, 24)), "JPEG"), False),
        "rgba.png": (_save(rgb.convert("RGBA"), "PNG"), True),
    }
    entries = []
    for name, (data, _) in cases.items():
        (tmp_path / name).write_bytes(data)
        entries.append(Entry(str(tmp_path / name), "train", 0))
    return entries, {str(tmp_path / n): keep for n, (_, keep) in cases.items()}


def test_every_bad_input_is_kept_converted_or_skipped_with_a_reason(tmp_path, bad_inputs):
    entries, expected = bad_inputs
    report = write_shard(entries, 0, tmp_path / "out" / "train-00000-of-00001.tfrecord", opts=OPTS,
                         report_path=tmp_path / "out" / "r.json")
    kept = {p for p, _ in report.kept}
    assert kept == {p for p, keep in expected.items() if keep}
    reasons = {s["path"].rsplit("/", 1)[1]: s["reason"] for s in report.skipped}
    assert reasons["truncated.jpg"].startswith("corrupt or truncated")
    assert reasons["empty.jpg"] == "empty file (0 bytes)"
    assert reasons["text.jpg"].startswith("not an image")
    assert reasons["tiny.jpg"].startswith("too small: 20x24")

    stats = collect({"found": 9, "in_split": 9, "selected": 9}, [json.loads((tmp_path / "out" / "r.json").read_text())],
                    {"resolution": 32}, manifest_path=tmp_path / "manifest.tsv", stats_path=tmp_path / "stats.json")
    assert (stats["found"], stats["kept"], stats["skipped"]) == (9, 5, 4)
    assert stats["skipped_by_reason"] == {"corrupt or truncated": 1, "empty file": 1, "not an image": 1, "too small": 1}
    assert len((tmp_path / "manifest.tsv").read_text().splitlines()) == 1 + 5


def test_conversions_keep_colour(tmp_path):
    red = Image.new("RGB", (100, 100), (200, 30, 60))
    for fmt, mode in (("PNG", "RGB"), ("JPEG", "CMYK"), ("PNG", "RGBA")):
        path = tmp_path / f"x.{mode}.jpg"
        path.write_bytes(_save(red.convert(mode), fmt))
        px = load_face(path, OPTS)
        assert px.shape == (32, 32, 3) and px.dtype == np.uint8
        assert np.abs(px.reshape(-1, 3).mean(0) - (200, 30, 60)).max() < 6, mode
    gray = tmp_path / "g.jpg"
    gray.write_bytes(_save(red.convert("L"), "JPEG"))
    px = load_face(gray, OPTS)
    assert px.shape == (32, 32, 3) and np.all(px[..., 0] == px[..., 1])


def test_crop_box_is_centred_and_clamped():
    assert crop_box(178, 218, 0) == (0.0, 20.0, 178.0, 198.0)
    assert crop_box(178, 218, 140) == (19.0, 39.0, 159.0, 179.0)
    assert crop_box(100, 50, 500) == (25.0, 0.0, 75.0, 50.0)


def test_crop_selects_the_centre_and_resize_antialiases(tmp_path):
    # Left half black, right half white: the centred crop keeps both halves; an antialiased
    # resize of a fine checkerboard averages to grey instead of aliasing to black or white.
    img = np.zeros((218, 178, 3), np.uint8)
    img[:, 89:] = 255
    path = tmp_path / "halves.png"
    Image.fromarray(img).save(path)
    px = load_face(path, PreprocessOptions(resolution=32, crop=100, min_side=16)).astype(int)
    assert px[:, :14].max() < 10 and px[:, 18:].min() > 245
    checker = ((np.indices((218, 178)).sum(0) % 2) * 255).astype(np.uint8)
    path = tmp_path / "checker.png"
    Image.fromarray(checker).convert("RGB").save(path)
    px = load_face(path, OPTS)
    assert abs(px.mean() - 127.5) < 8 and px.std() < 12


@pytest.mark.parametrize("resolution", [32, 64, 128])
def test_libjpeg_turbo_path_matches_pil_decoding(tmp_path, resolution, face_jpeg):
    from facegan.preprocess import RESAMPLE

    path = tmp_path / "f.jpg"
    path.write_bytes(face_jpeg(5))
    ours = load_face(path, PreprocessOptions(resolution=resolution, crop=160)).astype(float)
    with Image.open(path) as img:
        ref = np.asarray(img.convert("RGB").resize((resolution,) * 2, RESAMPLE, box=(9, 29, 169, 189)), float)
    # At 32 from a 160 crop libjpeg decodes at 1/4 scale (a DCT-domain downsample, a slightly
    # different filter); at 64 and 128 it decodes at full size and only the fast IDCT differs.
    # The test image has a hard 255->0 edge, where two filters can differ a lot in a pixel or two.
    mean_tol, max_tol = (2.5, 64) if resolution == 32 else (1.0, 24)
    assert np.abs(ours - ref).mean() < mean_tol and np.abs(ours - ref).max() < max_tol


def test_shard_is_written_atomically_on_failure(tmp_path, monkeypatch, face_jpeg):
    import facegan.preprocess as pp

    (tmp_path / "a.jpg").write_bytes(face_jpeg(1))

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pp, "load_face_image", boom)
    out = tmp_path / "s.tfrecord"
    with pytest.raises(KeyboardInterrupt):
        write_shard([Entry(str(tmp_path / "a.jpg"), "all", 0)], 0, out, opts=OPTS)
    assert not out.exists() and not list(tmp_path.glob("*part*"))


def test_skip_reason_for_missing_file(tmp_path):
    with pytest.raises(SkipImage, match="unreadable"):
        load_face(tmp_path / "gone.jpg", OPTS)


OPTS_16 = PreprocessOptions(resolution=32, crop=0, min_side=16)


def _jpeg_with_header_size(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header (SOF0) claims ``width`` x ``height``."""
    buf = io.BytesIO()
    Image.new("L", (64, 64), 128).save(buf, format="JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_huge_jpeg_is_refused_from_its_header_before_decoding(tmp_path, monkeypatch):
    import facegan.preprocess as pp

    path = tmp_path / "bomb.jpg"
    path.write_bytes(_jpeg_with_header_size(20000, 20000))

    def must_not_decode(*a, **k):
        raise AssertionError("decoded a 400-megapixel image")

    monkeypatch.setattr(pp.simplejpeg, "decode_jpeg", must_not_decode)
    monkeypatch.setattr(pp.Image.Image, "load", must_not_decode)
    with pytest.raises(SkipImage, match="too large: 20000x20000"):
        load_face(path, PreprocessOptions(64, 140, 32))


def test_huge_png_is_refused_from_its_header(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", 10000, 10000)  # 100 megapixels
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr:ihdr + 17])))
    (tmp_path / "bomb.png").write_bytes(bytes(data))
    with pytest.raises(SkipImage, match="too large"):
        load_face(tmp_path / "bomb.png", OPTS_16)


def test_a_fifo_named_jpg_is_skipped_not_read_forever(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError("blocked on the FIFO")))
    signal.alarm(10)
    try:
        report = write_shard([Entry(str(fifo), "train", 0)], 0, tmp_path / "s.tfrecord", opts=OPTS_16)
    finally:
        signal.alarm(0)
    assert report.images == 0 and "not a regular file" in report.skipped[0]["reason"]


def test_sixteen_bit_greyscale_is_scaled_not_clipped(tmp_path):
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (64, 1))
    Image.fromarray(ramp).save(tmp_path / "ramp16.png")
    with Image.open(tmp_path / "ramp16.png") as img:
        assert img.mode.startswith("I")
    out = load_face(tmp_path / "ramp16.png", PreprocessOptions(32, 0, 16)).astype(int)
    assert out[..., 0].min() <= 5 and out[..., 0].max() >= 250 and abs(out.mean() - 127.5) < 10
    assert np.all(np.diff(out[16, :, 0]) >= 0)  # still a ramp, left to right


def _upright_test_image() -> Image.Image:
    """Red top half, blue bottom half (178x218, like CelebA)."""
    arr = np.zeros((218, 178, 3), np.uint8)
    arr[:109] = (220, 20, 20)
    arr[109:] = (20, 20, 220)
    return Image.fromarray(arr)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])  # libjpeg-turbo's path and PIL's
def test_exif_orientation_is_applied(tmp_path, fmt):
    upright = _upright_test_image()
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # how a camera held sideways stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = tmp_path / f"sideways.{fmt.lower()}"
    stored.save(path, format=fmt, exif=exif.tobytes(), **({"quality": 95} if fmt == "JPEG" else {}))
    if fmt == "JPEG":
        assert jpeg_orientation(path.read_bytes()) == 6
    out = load_face(path, PreprocessOptions(32, 0, 16)).astype(int)
    assert out[2, 16, 0] > 150 and out[2, 16, 2] < 100  # red on top
    assert out[29, 16, 2] > 150 and out[29, 16, 0] < 100  # blue at the bottom


def test_orientation_parser_ignores_jpegs_without_exif():
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, format="JPEG")
    assert jpeg_orientation(buf.getvalue()) == 1 and jpeg_orientation(b"\xff\xd8\xff") == 1


def test_an_orphaned_shard_part_file_is_replaced_when_the_shard_is_written_again(tmp_path, face_jpeg):
    (tmp_path / "a.jpg").write_bytes(face_jpeg(1))
    (tmp_path / "s.tfrecord.part").write_bytes(b"half a shard from a killed job")
    write_shard([Entry(str(tmp_path / "a.jpg"), "train", 0)], 0, tmp_path / "s.tfrecord", opts=OPTS_16)
    assert not (tmp_path / "s.tfrecord.part").exists() and (tmp_path / "s.tfrecord").stat().st_size > 0
