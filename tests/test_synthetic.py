import csv
import io

import numpy as np
from PIL import Image

from facegan.synthetic import HAIR_STYLES, HEIGHT, WIDTH, face_jpeg, write_synthetic_dataset


def test_faces_are_deterministic_in_seed_and_index():
    assert face_jpeg(3, 7)[0] == face_jpeg(3, 7)[0]
    assert face_jpeg(3, 7)[0] != face_jpeg(4, 7)[0]
    assert face_jpeg(3, 7)[0] != face_jpeg(3, 8)[0]


def test_dataset_is_deterministic_and_prefix_stable(tmp_path):
    a = write_synthetic_dataset(tmp_path / "a", 12, seed=1)
    b = write_synthetic_dataset(tmp_path / "b", 20, seed=1)
    for i in range(1, 13):
        name = f"img_align_celeba/{i:06d}.jpg"
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert (a / "list_eval_partition.csv").exists()
    assert not list((a / "img_align_celeba").glob("*.part"))


def test_images_have_celeba_size_and_files_are_named_like_celeba(tmp_path):
    out = write_synthetic_dataset(tmp_path / "s", 5, seed=0)
    names = sorted(p.name for p in (out / "img_align_celeba").iterdir())
    assert names == [f"{i:06d}.jpg" for i in range(1, 6)]
    with Image.open(out / "img_align_celeba" / "000001.jpg") as img:
        assert img.size == (WIDTH, HEIGHT) and img.mode == "RGB" and img.format == "JPEG"


def test_faces_vary_in_every_drawn_attribute(tmp_path):
    out = write_synthetic_dataset(tmp_path / "s", 200, seed=0)
    with open(out / "list_attr_synthetic.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 200
    assert {int(r["hair_style"]) for r in rows} == set(range(len(HAIR_STYLES)))
    for key in ("skin", "hair_colour", "eye_colour", "glasses"):
        assert len({r[key] for r in rows}) > 1, key
    for key in ("face_w", "eye_spacing", "smile", "light_strength"):
        values = np.array([float(r[key]) for r in rows])
        assert values.std() > 0.05 * abs(values.mean()) + 1e-3, key
    for key in ("cx", "cy"):  # position jitter in pixels
        assert np.array([float(r[key]) for r in rows]).std() > 2, key
    # The pictures differ too, not only the parameters: per-pixel spread across faces is large.
    pix = np.stack([np.asarray(Image.open(io.BytesIO(face_jpeg(0, i)[0])), dtype=float) for i in range(40)])
    assert pix.std(axis=0).mean() > 25


def test_partition_follows_celeba_proportions(tmp_path):
    out = write_synthetic_dataset(tmp_path / "s", 1000, seed=0)
    with open(out / "list_eval_partition.csv") as f:
        parts = [int(r["partition"]) for r in csv.DictReader(f)]
    counts = np.bincount(parts, minlength=3) / len(parts)
    assert abs(counts[0] - 0.803) < 0.01 and abs(counts[1] - 0.098) < 0.01
