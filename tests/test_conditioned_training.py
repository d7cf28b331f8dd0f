"""A conditioned GAN trains, resumes bit for bit after a kill at a random moment, and works with the memory
reader and mixed precision (issue 21)."""

import json
import os
import random
import signal
import time

import numpy as np
import pytest

pytestmark = pytest.mark.slow

CONDITIONED = {"conditions": ["hair_style", "glasses"]}
KEYS = {"ema_kimg": 0.2, "augment": "translation,cutout", "mirror": True}


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def straight(tiny_shards, tmp_path_factory, train_job):
    work = tmp_path_factory.mktemp("conditioned")
    train_job(work, tiny_shards, epochs=3, checkpoint_every_steps=2, model=CONDITIONED, **KEYS)
    return work


def test_a_conditioned_run_records_its_conditions_and_its_models_take_them(straight, tiny_shards):
    from facegan.conditioning import Conditioning
    from facegan.generation import conditioning_of, load_generator

    record = json.loads((straight / "train" / "training_options.json").read_text())
    spec = Conditioning.from_json(record["conditioning"])
    assert spec.names == ("hair_style", "glasses") and abs(sum(spec.shares) - 1) < 1e-9
    assert record["train_options"]["model"]["conditions"] == ["hair_style", "glasses"]
    for name in ("generator.keras", "generator.h5"):
        assert conditioning_of(load_generator(straight / "train" / name)) == spec
    assert "conditioned on hair_style: bald/short/long/bangs; glasses: no/yes" in (straight / "train.log").read_text()
    assert sorted((straight / "train" / "progress").glob("epoch_*.png"))


def test_a_conditioned_run_killed_at_a_random_moment_resumes_bit_identical(straight, tiny_shards, tmp_path, train_job,
                                                                           weights_of):
    """SIGKILL at a random moment of training (18 steps slowed to 0.2 s, a checkpoint every 2), then a rerun:
    the generator (EMA) and the discriminator end bit-identical to the uninterrupted run."""
    rng = random.Random(int(os.environ.get("FACEGAN_KILL_SEED", "21")))
    work = tmp_path / "killed"
    proc = train_job(work, tiny_shards, epochs=3, checkpoint_every_steps=2, sleep_per_step=0.2, wait=False,
                     model=CONDITIONED, **KEYS)
    first = work / "train_state" / "checkpoints" / "ckpt-2.index"
    started = time.time()
    while proc.poll() is None and not first.exists() and time.time() < started + 120:
        time.sleep(0.01)
    deadline = time.time() + rng.uniform(0.0, 2.5)  # 16 steps of 0.2 s are left
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    assert proc.poll() is None, "training finished before the kill"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    train_job(work, tiny_shards, epochs=3, checkpoint_every_steps=2, model=CONDITIONED, **KEYS)
    assert "resumed from" in _read(work / "train.log")
    for name in ("generator.keras", "discriminator.keras"):
        assert _same(weights_of(work / "train" / name), weights_of(straight / "train" / name)), name


def test_conditioned_training_with_every_option_the_memory_reader_r1_and_mixed_precision(tiny_shards, tmp_path,
                                                                                         train_job):
    from facegan.generation import conditioning_of, load_generator

    every = {**CONDITIONED, "classify_conditions": True, "conditional_batchnorm": True}
    train_job(tmp_path, tiny_shards, epochs=1, model=every, reader="memory", mixed_precision=True, r1_gamma=0.1,
              r1_every=2, **KEYS)
    record = json.loads((tmp_path / "train" / "training_options.json").read_text())
    assert record["reader"] == "memory" and record["precision_policy"] == "mixed_bfloat16"
    g = load_generator(tmp_path / "train" / "generator.keras")
    assert conditioning_of(g).names == ("hair_style", "glasses") and {w.dtype for w in g.weights} == {"float32"}


def test_an_unknown_condition_at_train_time_is_one_line_naming_the_datas_attributes(tiny_shards, tmp_path, train_job):
    job = train_job(tmp_path, tiny_shards, epochs=1, model={"conditions": ["Eyeglasses"]}, check=False)
    assert job.returncode != 0
    assert ("model.conditions: 'Eyeglasses' is not an attribute of the data; it has skin, hair_colour, hair_style, "
            "glasses, smiling, eye_colour, background_hue") in job.stderr + _read(tmp_path / "train.log")
    assert "Traceback" not in job.stderr


def test_conditions_on_data_without_an_attribute_table_are_one_line_at_train_time(tiny_shards, tmp_path, train_job):
    from facegan.attributes import write_attribute_files

    data = {**tiny_shards, "attributes": str(tmp_path / "attributes.tsv"),
            "attribute_spec": str(tmp_path / "attributes.json")}
    write_attribute_files(None, [], out_tsv=data["attributes"], out_json=data["attribute_spec"])
    job = train_job(tmp_path / "w", data, epochs=1, model={"conditions": ["Smiling"]}, check=False)
    assert job.returncode != 0 and "Traceback" not in job.stderr
    assert "model.conditions is ['Smiling'] but the data set has no attribute table" in job.stderr


def _read(path):
    return path.read_text() if path.exists() else ""


def test_obedience_reads_the_generators_faces_and_stands_each_share_beside_real_faces(straight, tiny_shards,
                                                                                     tmp_path):
    """The real classifier and generator of a tiny run (threshold 0, so the tiny classifier's attributes count
    as read): every value of every conditioned attribute asked for, each share beside the real faces' reading."""
    from facegan.attribute_classifier import class_recalls, load, train_classifier
    from facegan.attributes import load_attribute_files
    from facegan.generation import load_generator
    from facegan.obedience import obedience
    from facegan.reader import read_in_order

    images = read_in_order(tiny_shards["files"], tiny_shards["stats_json"]["resolution"])
    attrs, labels = load_attribute_files(tiny_shards["attributes"], tiny_shards["attribute_spec"])
    train_classifier(images, labels[:len(images)], attrs, seed=0, threshold=0.0, out_dir=tmp_path / "clf", epochs=2,
                     precision=False)
    model, report = load(tmp_path / "clf")
    assert class_recalls(np.array([0, 0, 1, -1, 1]), np.array([0, 1, 1, 1, 0]), 3) == [0.5, 0.5, None]
    result = obedience(load_generator(straight / "train" / "generator.keras"), model, report, per_value=6, seed=0)
    assert set(result["attributes"]) == {"hair_style", "glasses"} and not result["not_read"]
    for name, per_class in result["attributes"].items():
        for value, c in per_class.items():
            assert c["asked"] == 6 and c["real"] == report["recall"][name][value]
            assert sum(c["read_as"].values()) <= 1.0 + 1e-9
    assert any("(real faces: " in line for line in result["lines"])
    of_real = [c["obeyed"] / c["real"] for p in result["attributes"].values() for c in p.values() if c["real"]]
    assert result["min_of_real"] == min(of_real) and result["min_obeyed"] <= 1.0
