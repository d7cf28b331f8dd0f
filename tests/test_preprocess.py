import io
import json

import numpy as np
import pytest
from PIL import Image

from facegan.datastats import collect
from facegan.index import Entry
from facegan.preprocess import PreprocessOptions, SkipImage, crop_box, load_face, write_shard

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
    report = write_shard(entries, 0, tmp_path / "out" / "train-00000-of-00001.tfrecord", OPTS,
                         tmp_path / "out" / "r.json")
    kept = {p for p, _ in report.kept}
    assert kept == {p for p, keep in expected.items() if keep}
    reasons = {s["path"].rsplit("/", 1)[1]: s["reason"] for s in report.skipped}
    assert reasons["truncated.jpg"].startswith("corrupt or truncated")
    assert reasons["empty.jpg"] == "empty file (0 bytes)"
    assert reasons["text.jpg"].startswith("not an image")
    assert reasons["tiny.jpg"].startswith("too small: 20x24")

    stats = collect({"found": 9, "in_split": 9, "selected": 9}, [json.loads((tmp_path / "out" / "r.json").read_text())],
                    {"resolution": 32}, tmp_path / "manifest.tsv", tmp_path / "stats.json")
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
        write_shard([Entry(str(tmp_path / "a.jpg"), "all", 0)], 0, out, OPTS)
    assert not out.exists() and not list(tmp_path.glob("*part*"))


def test_skip_reason_for_missing_file(tmp_path):
    with pytest.raises(SkipImage, match="unreadable"):
        load_face(tmp_path / "gone.jpg", OPTS)
