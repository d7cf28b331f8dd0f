"""Reading the preprocessed shards back: streamed float32 batches in [-1, 1], or (the memory reader) uint8
batches that ``GAN.train_step`` scales on the device.

The order of every epoch is a pure function of ``(seed, epoch)``, so a run resumed at epoch ``k``
sees exactly the batches an uninterrupted run would have seen from epoch ``k`` on. Each epoch
permutes the shard list, interleaves records from up to 8 shards, and permutes consecutive blocks
of ``shuffle_buffer`` records, all with stateless shuffles seeded from ``(seed, epoch, block)``
(``Dataset.shuffle`` cannot take a per-epoch tensor seed under op determinism). Records are batched
before parsing (one vectorised ``parse_example`` per batch instead of one call per image).

For a conditioned GAN both readers also serve each image's conditions (``labels``: one row per image in
the shards' record order, which is the manifest's): ``(images, conditions)`` batches. The streaming
reader carries each record's index through the shuffles for that (:func:`_indexed_epoch`); the order of
the images is the one the unconditioned reader gives.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

FEATURES = {
    "image": tf.io.FixedLenFeature([], tf.string),
    "height": tf.io.FixedLenFeature([], tf.int64),
    "width": tf.io.FixedLenFeature([], tf.int64),
}
_EPOCH_STRIDE = 1_000_003  # seeds of different epochs never collide for seed < 2**40
_MIRROR_STREAM = -2  # second seed halves -2, -3, ...: never a shuffle's (>= -1)


def deterministic_options() -> tf.data.Options:
    """The training readers' options: a fixed order, and no autotuning thread. An iterator's destruction waits
    for that thread's next wake-up, whose period grows while the iterator lives: with one iterator per epoch it
    stalled the end of every second epoch or so by 5-20 s (BENCHMARKS.md). ``AUTOTUNE`` parallelism then
    falls back to TensorFlow's fixed defaults."""
    options = tf.data.Options()
    options.deterministic = True
    options.autotune.enabled = False
    return options


def decode_batch(serialized: tf.Tensor, resolution: int) -> tf.Tensor:
    """Serialized Examples -> float32 images ``(batch, resolution, resolution, 3)`` in [-1, 1]."""
    parsed = tf.io.parse_example(serialized, FEATURES)
    pixels = tf.io.decode_raw(parsed["image"], tf.uint8)
    images = tf.reshape(pixels, [-1, resolution, resolution, 3])
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def _epoch(files: tf.Tensor, epoch: tf.Tensor, seed: int, batch_size: int, resolution: int,
           shuffle_buffer: int, drop_remainder: bool, cycle_length: int, mirror: bool = False) -> tf.data.Dataset:
    epoch_seed = tf.cast(seed, tf.int64) * _EPOCH_STRIDE + tf.cast(epoch, tf.int64)
    order = tf.random.experimental.stateless_shuffle(files, seed=tf.stack([epoch_seed, tf.constant(-1, tf.int64)]))
    ds = tf.data.Dataset.from_tensor_slices(order)
    ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=cycle_length, block_length=1,
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if shuffle_buffer > 1:
        ds = ds.batch(shuffle_buffer).enumerate().flat_map(
            lambda block, records: tf.data.Dataset.from_tensor_slices(
                tf.random.experimental.stateless_shuffle(records, seed=tf.stack([epoch_seed, block]))))
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if not mirror:
        return ds.map(lambda s: decode_batch(s, resolution), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    from facegan.augment import mirror_batch

    # The flips of batch k of this epoch: stateless from (seed, epoch, k), so a resumed epoch flips alike.
    def decode_and_flip(k, serialized):
        flip_seed = tf.stack([epoch_seed, tf.constant(_MIRROR_STREAM, tf.int64) - k])
        return mirror_batch(decode_batch(serialized, resolution), flip_seed)

    return ds.enumerate().map(decode_and_flip, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _indexed_epoch(files: tf.Tensor, offsets: tf.Tensor, labels: tf.Tensor, epoch: tf.Tensor, seed: int,
                   batch_size: int, resolution: int, shuffle_buffer: int, cycle_length: int,
                   mirror: bool) -> tf.data.Dataset:
    """:func:`_epoch`'s batches with each image's conditions: records carry their index (``offsets``: each
    shard's first), shuffled by the same permutations."""
    epoch_seed = tf.cast(seed, tf.int64) * _EPOCH_STRIDE + tf.cast(epoch, tf.int64)
    shard_seed = tf.stack([epoch_seed, tf.constant(-1, tf.int64)])
    order = tf.random.experimental.stateless_shuffle(tf.range(tf.shape(files)[0]), seed=shard_seed)
    ds = tf.data.Dataset.from_tensor_slices((tf.gather(files, order), tf.gather(offsets, order)))
    ds = ds.interleave(lambda f, first: tf.data.TFRecordDataset(f).enumerate().map(lambda i, r: (r, first + i)),
                       cycle_length=cycle_length, block_length=1, num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=True)
    if shuffle_buffer > 1:
        def shuffle_block(block, records, indices):
            perm = tf.random.experimental.stateless_shuffle(tf.range(tf.shape(records)[0]),
                                                            seed=tf.stack([epoch_seed, block]))
            return tf.data.Dataset.from_tensor_slices((tf.gather(records, perm), tf.gather(indices, perm)))

        ds = ds.batch(shuffle_buffer).enumerate().flat_map(lambda block, rec: shuffle_block(block, *rec))
    ds = ds.batch(batch_size, drop_remainder=True).enumerate()

    def decode(k, batch):
        serialized, indices = batch
        images = decode_batch(serialized, resolution)
        if mirror:
            from facegan.augment import mirror_batch

            images = mirror_batch(images, tf.stack([epoch_seed, tf.constant(_MIRROR_STREAM, tf.int64) - k]))
        return images, tf.gather(labels, indices)

    return ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def make_dataset(files: Sequence[str], resolution: int, batch_size: int, *, seed: int = 0,
                 first_epoch: int = 0, epochs: int | None = 1, shuffle_buffer: int = 10_000,
                 drop_remainder: bool = True, mirror: bool = False) -> tf.data.Dataset:
    """Batches of images from ``files`` for epochs ``first_epoch .. first_epoch+epochs-1``.

    ``epochs=None`` repeats forever. ``drop_remainder`` keeps every batch the same size (the
    distributed train step would otherwise retrace on the short last batch), so an epoch has
    ``images // batch_size`` batches. ``mirror`` flips each image left-right with probability 1/2.
    """
    if not files:
        raise ValueError("make_dataset needs at least one shard file")
    files_t = tf.constant(list(files))
    cycle = min(len(files), 8)
    epochs_ds = tf.data.Dataset.range(first_epoch, 2**62 if epochs is None else first_epoch + epochs)
    ds = epochs_ds.flat_map(lambda e: _epoch(files_t, e, seed, batch_size, resolution, shuffle_buffer,
                                             drop_remainder, cycle, mirror))
    return ds.with_options(deterministic_options()).prefetch(tf.data.AUTOTUNE)


def read_images(files: Sequence[str], resolution: int, n: int, *, seed: int = 0,
                allow_fewer: bool = False) -> np.ndarray:
    """The first ``n`` images of epoch 0's seeded order as uint8 ``(n, H, W, 3)``; fewer is an error unless
    ``allow_fewer`` (then all the shards hold)."""
    from facegan.errors import FaceganError
    from facegan.images import to_uint8

    batches, got = [], 0
    for batch in make_dataset(files, resolution, min(n, 256), seed=seed, drop_remainder=False):
        batches.append(to_uint8(np.asarray(batch)))
        got += len(batches[-1])
        if got >= n:
            break
    images = np.concatenate(batches)[:n]
    if len(images) < n and not allow_fewer:
        raise FaceganError(f"{n} real images are needed but the shards hold only {len(images)}")
    return images


def read_in_order(files: Sequence[str], resolution: int, limit: int | None = None) -> np.ndarray:
    """The images of ``files`` in record order (the manifest's order when ``files`` are the shards in order),
    at most ``limit``, as uint8 ``(n, H, W, 3)``."""
    from facegan.images import to_uint8

    ds = tf.data.TFRecordDataset(list(files))
    if limit:
        ds = ds.take(limit)
    batches = [to_uint8(decode_batch(b, resolution).numpy()) for b in ds.batch(512)]
    return np.concatenate(batches) if batches else np.zeros((0, resolution, resolution, 3), np.uint8)


def memory_budget_bytes(share: float) -> int:
    """``share`` of this machine's RAM."""
    try:
        return int(share * os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 0


class StreamingBatches:
    """Training batches read from the shards as training goes (:func:`make_dataset`): any data set size."""

    kind = "stream"

    def __init__(self, files: Sequence[str], resolution: int, batch_size: int, seed: int, shuffle_buffer: int,
                 mirror: bool, steps_per_epoch: int, labels: np.ndarray | None = None,
                 shard_sizes: Sequence[int] | None = None):
        self.files, self.resolution, self.batch_size, self.seed = list(files), resolution, batch_size, seed
        self.shuffle_buffer, self.mirror, self.steps_per_epoch = shuffle_buffer, mirror, steps_per_epoch
        self.labels, self.shard_sizes = labels, shard_sizes
        if labels is not None and (shard_sizes is None or sum(shard_sizes) != len(labels)):
            raise ValueError(f"{len(labels)} rows of conditions for shards of {shard_sizes} images")

    def epoch(self, epoch: int, skip: int = 0) -> tf.data.Dataset:
        """Epoch ``epoch``'s batches after the first ``skip`` (exactly steps_per_epoch - skip of them)."""
        if self.labels is None:
            ds = make_dataset(self.files, self.resolution, self.batch_size, seed=self.seed, first_epoch=epoch,
                              epochs=1, shuffle_buffer=self.shuffle_buffer, mirror=self.mirror)
        else:
            offsets = tf.constant(np.cumsum([0, *self.shard_sizes[:-1]]), tf.int64)
            ds = _indexed_epoch(tf.constant(self.files), offsets, tf.constant(self.labels, tf.int32),
                                tf.constant(epoch, tf.int64), self.seed, self.batch_size, self.resolution,
                                self.shuffle_buffer, min(len(self.files), 8), self.mirror)
            ds = ds.with_options(deterministic_options()).prefetch(tf.data.AUTOTUNE)
        ds = ds.skip(skip) if skip else ds
        return ds.apply(tf.data.experimental.assert_cardinality(self.steps_per_epoch - skip))


class MemoryBatches:
    """Training batches served from all images decoded once into RAM (one uint8 tensor): each epoch is a
    stateless permutation of the images, a pure function of ``(seed, epoch)``, cut into batches, each a
    gather, served as uint8 (``GAN.train_step`` scales them to [-1, 1] on the device, as the streaming
    reader does on the host, to within one rounding). With ``mirror`` the tensor also holds every image
    flipped left-right (StyleGAN2-ADA's ``--mirror`` doubles the data set the same way), and the flips
    :func:`facegan.augment.mirror_batch` would draw become indices into that half: the same batches as
    flipping each one, without the per-batch flip, which cost more than the gather (BENCHMARKS.md).
    Fast enough to feed GPUs; the data set (twice, with ``mirror``) must fit in memory."""

    kind = "memory"

    def __init__(self, files: Sequence[str], resolution: int, batch_size: int, seed: int, mirror: bool,
                 steps_per_epoch: int, labels: np.ndarray | None = None):
        images = read_in_order(files, resolution)
        self.count = len(images)
        if labels is not None and len(labels) != self.count:
            raise ValueError(f"{len(labels)} rows of conditions for {self.count} images")
        if mirror:
            images = np.concatenate([images, images[:, :, ::-1]])
            labels = None if labels is None else np.concatenate([labels, labels])
        with tf.device("/cpu:0"):
            self.images = tf.Variable(images, trainable=False, name="training_images")
            self.labels = None if labels is None else tf.constant(labels, tf.int32)
        self.batch_size, self.seed, self.mirror, self.steps_per_epoch = batch_size, seed, mirror, steps_per_epoch

    def order(self, epoch: int) -> tf.Tensor:
        """Epoch ``epoch``'s image indices, ``(steps_per_epoch, batch_size)``."""
        epoch_seed = tf.constant(self.seed * _EPOCH_STRIDE + epoch, tf.int64)
        perm = tf.random.experimental.stateless_shuffle(tf.range(self.count, dtype=tf.int64),
                                                        seed=tf.stack([epoch_seed, tf.constant(-7, tf.int64)]))
        return tf.reshape(perm[:self.steps_per_epoch * self.batch_size], [self.steps_per_epoch, self.batch_size])

    def epoch(self, epoch: int, skip: int = 0) -> tf.data.Dataset:
        epoch_seed = tf.constant(self.seed * _EPOCH_STRIDE + epoch, tf.int64)
        images, labels, mirror, count = self.images, self.labels, self.mirror, self.count

        def batch(k, indices):
            if mirror:
                from facegan.augment import mirror_flags

                flip_seed = tf.stack([epoch_seed, tf.constant(_MIRROR_STREAM, tf.int64) - k])
                flip = mirror_flags(tf.shape(indices)[0], flip_seed)
                indices = indices + count * tf.cast(flip, tf.int64)
            batch_images = tf.gather(images, indices)  # uint8: GAN.train_step scales it on the device
            return batch_images if labels is None else (batch_images, tf.gather(labels, indices))

        ds = tf.data.Dataset.from_tensor_slices(self.order(epoch)[skip:]).enumerate(start=skip)
        ds = ds.map(batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return ds.with_options(deterministic_options()).prefetch(tf.data.AUTOTUNE).apply(
            tf.data.experimental.assert_cardinality(self.steps_per_epoch - skip))


def training_batches(files: Sequence[str], opts, *, device_kind: str, images: int, steps_per_epoch: int,
                     labels: np.ndarray | None = None, shard_sizes: Sequence[int] | None = None):
    """The reader ``train.reader`` asks for (``opts``: :class:`facegan.options.TrainOptions`); with
    ``labels`` (each image's conditions, record order; ``shard_sizes``: the images of each file) its batches
    are ``(images, conditions)``."""
    from facegan.errors import FaceganError

    run, data, resolution = opts.run, opts.data, opts.model.resolution
    size = images * resolution * resolution * 3 * (2 if data.mirror else 1)  # MemoryBatches holds the flips too
    budget = memory_budget_bytes(run.reader_memory_share)
    use_memory = run.reader == "memory" or (run.reader == "auto" and device_kind == "gpu" and size <= budget)
    if run.reader == "memory" and size > budget:
        raise FaceganError(f"train.reader is memory but the images need {size / 2**30:.1f} GiB, more than "
                           f"train.reader_memory_share ({run.reader_memory_share}) of RAM ({budget / 2**30:.1f} "
                           f"GiB): raise the share or use train.reader: stream")
    if use_memory:
        return MemoryBatches(files, resolution, data.batch_size, data.seed, data.mirror, steps_per_epoch,
                             labels=labels)
    return StreamingBatches(files, resolution, data.batch_size, data.seed, data.shuffle_buffer, data.mirror,
                            steps_per_epoch, labels=labels, shard_sizes=shard_sizes)
