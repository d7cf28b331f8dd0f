
import numpy as np
import pytest
import tensorflow as tf

from facegan.index import Entry
from facegan.preprocess import PreprocessOptions, write_shard
from facegan.reader import make_dataset

# Training runs with op determinism on; the reader must work under it.
tf.config.experimental.enable_op_determinism()


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Three shards of 10 images each; image k is uniformly the grey level 8*k (0..232)."""
    from PIL import Image

    root = tmp_path_factory.mktemp("reader")
    files = []
    for s in range(3):
        entries = []
        for j in range(10):
            k = s * 10 + j
            path = root / f"{k:03d}.png"
            Image.new("RGB", (40, 40), (8 * k,) * 3).save(path)
            entries.append(Entry(str(path), "all", s))
        out = root / f"train-{s:05d}-of-00003.tfrecord"
        write_shard(entries, s, out, opts=PreprocessOptions(resolution=32, min_side=16))
        files.append(str(out))
    return files


def _levels(batch) -> list[int]:
    return [int(round((float(np.asarray(img).mean()) + 1) * 127.5 / 8)) for img in batch]


def test_round_trip_count_shape_range_and_values(shards):
    batches = list(make_dataset(shards, 32, batch_size=4, seed=0, drop_remainder=False))
    images = np.concatenate([b.numpy() for b in batches])
    assert images.shape == (30, 32, 32, 3) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert sorted(_levels(images)) == list(range(30))
    assert images.min() == -1.0  # level 0 maps exactly to -1


def test_unshuffled_single_shard_keeps_write_order(shards):
    batch = next(iter(make_dataset(shards[1:2], 32, batch_size=10, shuffle_buffer=1)))
    assert _levels(batch) == list(range(10, 20))


def test_drop_remainder_gives_equal_batches(shards):
    batches = list(make_dataset(shards, 32, batch_size=7, seed=0))
    assert [b.shape[0] for b in batches] == [7, 7, 7, 7]


def test_order_is_seeded_and_each_epoch_reshuffles(shards):
    def order(seed, first_epoch=0, epochs=1):
        return [lvl for b in make_dataset(shards, 32, batch_size=5, seed=seed, first_epoch=first_epoch,
                                          epochs=epochs) for lvl in _levels(b)]

    assert order(1) == order(1)
    assert order(1) != order(2)
    two = order(1, epochs=2)
    assert two[:30] != two[30:] and sorted(two[30:]) == list(range(30))
    # Resuming at epoch 1 yields exactly the second epoch of an uninterrupted run.
    assert order(1, first_epoch=1) == two[30:]


def test_epochs_none_repeats_forever(shards):
    ds = make_dataset(shards, 32, batch_size=10, seed=0, epochs=None)
    assert len(list(ds.take(7))) == 7  # 3 batches per epoch: spans three epochs


def test_read_images_returns_uint8_and_refuses_to_invent_images(shards):
    from facegan.errors import FaceganError
    from facegan.reader import read_images

    images = read_images(shards, 32, 25, seed=0)
    assert images.shape == (25, 32, 32, 3) and images.dtype == np.uint8
    with pytest.raises(FaceganError, match="31 real images are needed but the shards hold only 30"):
        read_images(shards, 32, 31, seed=0)


def test_mirrored_reader_flips_the_same_images_in_every_run_of_an_epoch(tiny_shards):
    from facegan.reader import make_dataset

    def epoch(first, mirror):
        return np.concatenate([b.numpy() for b in make_dataset(tiny_shards["files"], 32, 16, seed=0, first_epoch=first,
                                                               epochs=1, shuffle_buffer=64, mirror=mirror)])

    plain, mirrored = epoch(1, False), epoch(1, True)
    same = [np.array_equal(a, b) for a, b in zip(plain, mirrored)]
    flipped = [np.array_equal(a[:, ::-1], b) for a, b in zip(plain, mirrored)]
    assert all(s or f for s, f in zip(same, flipped)) and 0 < sum(flipped) < len(plain)
    assert np.array_equal(mirrored, epoch(1, True))


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


@pytest.mark.slow
def test_memory_reader_trains_and_resumes_exactly(tiny_shards, tmp_path, train_job, weights_of):
    train_job(tmp_path / "straight", tiny_shards, epochs=2, reader="memory", mirror=True)
    train_job(tmp_path / "resumed", tiny_shards, epochs=1, reader="memory", mirror=True)
    train_job(tmp_path / "resumed", tiny_shards, epochs=2, reader="memory", mirror=True)
    log = (tmp_path / "resumed" / "train.log").read_text()
    assert "memory reader" in log and "resumed from" in log
    a, b = (weights_of(tmp_path / w / "train" / "generator.keras") for w in ("straight", "resumed"))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("labelled", [False, True])
def test_every_epoch_reader_runs_without_the_autotuning_thread(tiny_shards, labelled):
    """Destroying an iterator waits for tf.data's autotuning thread to wake: with one iterator per epoch that
    stalled epoch ends by seconds. The batches are the same either way (a fixed order)."""
    from facegan.reader import MemoryBatches, StreamingBatches

    labels = np.zeros((96, 1), np.int32) if labelled else None
    sizes = [s["images"] for s in tiny_shards["stats_json"]["shards"]] if labelled else None
    readers = [StreamingBatches(tiny_shards["files"], 32, 16, seed=0, shuffle_buffer=64, mirror=True,
                                steps_per_epoch=6, labels=labels, shard_sizes=sizes),
               MemoryBatches(tiny_shards["files"], 32, 16, seed=0, mirror=True, steps_per_epoch=6, labels=labels)]
    for reader in readers:
        options = reader.epoch(1, skip=1).options()
        assert options.autotune.enabled is False and options.deterministic is True
    assert make_dataset(tiny_shards["files"], 32, 16).options().autotune.enabled is False
