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
        write_shard(entries, s, out, PreprocessOptions(resolution=32, min_side=16))
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
