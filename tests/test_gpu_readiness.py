"""Ready for GPUs (issue 15): loud failure when assigned GPUs are unusable, facegan doctor, the in-graph
non-finite guard and steps per execution, per-step logs, generator snapshots, the in-memory reader."""

import csv
import os

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    return {**env, "FACEGAN_GPU_LOCK_DIR": str(tmp_path / "locks"), **extra}


def test_gpus_assigned_but_unusable_stop_training_with_one_line_and_gpus_0_trains_on_the_cpu(tiny_shards, tmp_path,
                                                                                              train_job):
    env = _env(tmp_path, CUDA_VISIBLE_DEVICES="0")  # as SLURM sets it; this TensorFlow sees no GPU
    proc = train_job(tmp_path / "a", tiny_shards, epochs=1, gpus=1, env=env, check=False)
    log = (tmp_path / "a" / "train.log").read_text()
    errors = [line for line in log.splitlines() if " ERROR " in line]
    assert proc.returncode == 1 and len(errors) == 1 and "Traceback" not in log
    assert "TensorFlow sees no GPU although CUDA_VISIBLE_DEVICES=0" in errors[0] and "facegan[gpu]" in errors[0]
    assert "train.gpus: 0" in errors[0]
    train_job(tmp_path / "b", tiny_shards, epochs=1, gpus=0, env=env)
    assert "training on CPU" in (tmp_path / "b" / "train.log").read_text()


def test_doctor_prints_every_section(python, tmp_path):
    proc = python(["-m", "facegan.cli", "doctor", "--steps", "1", "--width", "8"], env=_env(tmp_path), check=False,
                  timeout=300)
    out = proc.stdout
    for section in ("== facegan doctor ==", "== TensorFlow build ==", "built with CUDA", "== GPUs ==",
                    "CUDA_VISIBLE_DEVICES", "nvidia-smi", "TensorFlow sees", "== CPU ==", "oneDNN",
                    "== Precision", "CPU: ", "== Timed GAN step", "/CPU:0: "):
        assert section in out, section
    assert proc.returncode == 0 and "PROBLEM" not in out, out
    assert "images/s at batch 32" in out


@pytest.mark.parametrize("visible, status", [(None, 0), ("0", 1), ("NoDevFiles", 0), ("", 0)])
def test_doctor_fails_when_gpus_are_assigned_but_unusable(monkeypatch, visible, status):
    """The GPU section (this TensorFlow sees no GPU) under what SLURM or a user sets."""
    from facegan import doctor

    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    lines = []
    gpus, found = doctor._gpus(lines.append)
    out = "\n".join(lines)
    assert gpus == [] and found == status, out
    assert ("PROBLEM: TensorFlow sees no GPU although CUDA_VISIBLE_DEVICES=0" in out) == bool(status)


def test_steps_are_logged_every_n_steps_with_d_of_x_and_snapshots_are_kept(tiny_shards, tmp_path, train_job, python):
    train_job(tmp_path, tiny_shards, epochs=2, steps_per_execution=2, log_every_steps=4, snapshot_every_epochs=1)
    with open(tmp_path / "train" / "steps.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [4, 8, 12]
    assert all(0 <= float(r["d_x"]) <= 1 and 0 <= float(r["d_g_z"]) <= 1 for r in rows)
    assert list((tmp_path / "train_state" / "tensorboard" / "steps").glob("events.out.tfevents.*"))
    snapshots = sorted(p.name for p in (tmp_path / "train" / "snapshots").iterdir())
    assert snapshots == ["generator-epoch0001.keras", "generator-epoch0002.keras"]
    python(["-m", "facegan.cli", "generate", "--model", tmp_path / "train" / "snapshots" / snapshots[0], "-n", "2",
            "--out", tmp_path / "faces"], timeout=300)
    assert len(list((tmp_path / "faces").glob("*.png"))) == 2


def test_memory_reader_order_is_a_function_of_seed_and_epoch(tiny_shards):
    from facegan.reader import MemoryBatches, read_in_order

    a = MemoryBatches(tiny_shards["files"], 32, 16, seed=3, mirror=False, steps_per_epoch=6)
    b = MemoryBatches(tiny_shards["files"], 32, 16, seed=3, mirror=False, steps_per_epoch=6)
    epoch1 = np.concatenate([x.numpy() for x in a.epoch(1)])
    assert epoch1.dtype == np.uint8  # GAN.train_step scales them
    assert np.array_equal(epoch1, np.concatenate([x.numpy() for x in b.epoch(1)]))
    assert np.array_equal(epoch1[2 * 16:], np.concatenate([x.numpy() for x in a.epoch(1, skip=2)]))  # a resume
    assert not np.array_equal(epoch1, np.concatenate([x.numpy() for x in a.epoch(2)]))
    order = a.order(1).numpy().ravel()
    assert len(set(order)) == len(order) == 96  # every image once
    images = read_in_order(tiny_shards["files"], 32)
    assert np.array_equal(epoch1[0], images[order[0]])


def test_memory_reader_mirror_gives_the_batches_flipped_as_mirror_batch_would(tiny_shards):
    """The flips are held in memory and chosen by index: each batch equals the unflipped one put through
    mirror_batch with the seed the streaming reader uses for that epoch and batch."""
    import tensorflow as tf

    from facegan.augment import mirror_batch
    from facegan.reader import _EPOCH_STRIDE, _MIRROR_STREAM, MemoryBatches

    plain = MemoryBatches(tiny_shards["files"], 32, 16, seed=3, mirror=False, steps_per_epoch=6)
    mirrored = MemoryBatches(tiny_shards["files"], 32, 16, seed=3, mirror=True, steps_per_epoch=6)
    flipped = 0
    for k, (x, y) in enumerate(zip(plain.epoch(2), mirrored.epoch(2))):
        seed = tf.constant([3 * _EPOCH_STRIDE + 2, _MIRROR_STREAM - k], tf.int64)
        assert np.array_equal(mirror_batch(x, seed).numpy(), y.numpy())
        flipped += int(np.sum(np.any(x.numpy() != y.numpy(), axis=(1, 2, 3))))
    assert 20 < flipped < 76  # about half of the 96


def test_mirror_batch_flips_exactly_the_images_its_flags_name():
    import tensorflow as tf

    from facegan.augment import mirror_batch, mirror_flags

    x = tf.random.stateless_uniform([32, 8, 8, 3], seed=[1, 2])
    seed = tf.constant([5, 6], tf.int64)
    flags = mirror_flags(32, seed).numpy()
    expected = np.where(flags[:, None, None, None], x.numpy()[:, :, ::-1], x.numpy())
    assert np.array_equal(mirror_batch(x, seed).numpy(), expected) and 0 < flags.sum() < 32


def test_memory_reader_trains_and_resumes_exactly(tiny_shards, tmp_path, train_job, weights_of):
    train_job(tmp_path / "straight", tiny_shards, epochs=2, reader="memory", mirror=True)
    train_job(tmp_path / "resumed", tiny_shards, epochs=1, reader="memory", mirror=True)
    train_job(tmp_path / "resumed", tiny_shards, epochs=2, reader="memory", mirror=True)
    log = (tmp_path / "resumed" / "train.log").read_text()
    assert "memory reader" in log and "resumed from" in log
    a, b = (weights_of(tmp_path / w / "train" / "generator.keras") for w in ("straight", "resumed"))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
