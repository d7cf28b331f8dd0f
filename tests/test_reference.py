"""The real reference, the real-data floor and the SWD probe of training (facegan.reference,
facegan.real_reference)."""

import csv
import hashlib
import json

import keras
import numpy as np
import pytest

from facegan.models import build_models


def test_a_data_set_smaller_than_evaluate_images_is_evaluated_on_what_it_holds(tiny_shards, tmp_path, caplog):

    from facegan.evaluation import evaluate_generator
    from facegan.real_reference import compute_real_reference

    keras.utils.set_random_seed(0)
    g, _ = build_models(architecture="dcgan", resolution=32, latent_dim=16, width=8)
    g.save(tmp_path / "g.keras")
    (tmp_path / "opts.json").write_text(json.dumps(
        {"train_options": {"model": {"architecture": "dcgan", "resolution": 32, "latent_dim": 16, "width": 8}}}))
    with caplog.at_level("WARNING"):
        compute_real_reference(shard_files=tiny_shards["files"], stats_path=tiny_shards["stats"], resolution=32,
                               n=2048, seed=0, out_npz=tmp_path / "ref.npz")
    assert "evaluate.images is 2048 but the data set holds 96 images: the metrics compare 48 real" in caplog.text
    result = evaluate_generator(str(tmp_path / "g.keras"), training_options_path=tmp_path / "opts.json",
                                reference_path=tmp_path / "ref.npz", n=2048, seed=0, out_json=tmp_path / "metrics.json")
    assert result["images"] == 48 and np.isfinite(result["swd"]["SWDx1e3_avg"]) and result["swd_vs_floor"] > 1


def test_the_floor_compares_two_disjoint_sets_of_real_images(tiny_shards, tmp_path):
    from facegan.reader import read_images
    from facegan.real_reference import compute_real_reference
    from facegan.reference import Reference

    meta = compute_real_reference(shard_files=tiny_shards["files"], stats_path=tiny_shards["stats"], resolution=32,
                                  n=40, seed=0, out_npz=tmp_path / "ref.npz")
    ref = Reference(tmp_path / "ref.npz")
    both = read_images(tiny_shards["files"], 32, 80, seed=0)
    a, b = both[:40], both[40:]
    assert np.array_equal(ref.images, a)
    digest = {hashlib.sha256(img.tobytes()).hexdigest() for img in a}
    assert not digest & {hashlib.sha256(img.tobytes()).hexdigest() for img in b}  # disjoint
    assert len(digest) == 40  # and no image twice within A
    assert meta["swd_floor"]["SWDx1e3_avg"] > 0
    # The floor is the real-vs-real SWD: set B measured against A reads swd_vs_floor 1.
    assert ref.swd(b)[0]["swd_vs_floor"] == pytest.approx(1.0, rel=1e-9)
    assert (tmp_path / "ref.npz").stat().st_size < 40 * 32 * 32 * 3 + 10_000  # images as uint8, little else


def test_compact_reference_is_within_25_mb_for_1024_images_at_64px(tmp_path):
    from facegan import reference as evaluation

    imgs = np.random.default_rng(0).integers(0, 255, (1024, 64, 64, 3), dtype=np.uint8)
    np.savez(tmp_path / "r.npz", meta=json.dumps({}), images=imgs)
    assert (tmp_path / "r.npz").stat().st_size < 25e6
    assert evaluation.reference_size(1024, 2000) == 1000 and evaluation.reference_size(1024, 5000) == 1024


@pytest.mark.slow
@pytest.mark.slow
def test_swd_file_and_plot_have_one_point_per_measurement(tiny_shards, tmp_path, train_job):
    from facegan.charts import swd_chart as plot_swd
    from facegan.real_reference import compute_real_reference

    compute_real_reference(shard_files=tiny_shards["files"], stats_path=tiny_shards["stats"], resolution=32, n=32,
                           seed=0, out_npz=tmp_path / "ref.npz")
    train_job(tmp_path, tiny_shards, epochs=3, swd_every_epochs=2, ema_kimg=1, augment="translation,cutout",
              reference=str(tmp_path / "ref.npz"))
    with open(tmp_path / "train" / "swd.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [2, 3]  # every 2 epochs, and the last
    assert all(float(r["swd_vs_floor"]) > 0 for r in rows)
    points = plot_swd(tmp_path / "train" / "swd.csv", tmp_path / "swd.png")
    assert points == [(2, float(rows[0]["SWDx1e3_avg"])), (3, float(rows[1]["SWDx1e3_avg"]))]
    assert (tmp_path / "swd.png").stat().st_size > 10_000
