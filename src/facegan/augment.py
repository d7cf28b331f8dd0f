"""Differentiable augmentation for the discriminator (DiffAugment, Zhao et al. 2020) and x-flips.

DiffAugment transforms real and generated batches alike before every discriminator call, with
differentiable ops, so the generator's gradient flows through the augmentation and the discriminator
cannot memorise a small data set. The policy is a comma-separated list of operations, each applied to
every image (as the reference ``DiffAugment_tf.py`` does), on images in [-1, 1]:

* ``color``: brightness ``x + (u - 0.5)``, saturation ``(x - mean_c) * 2u + mean_c``, contrast
  ``(x - mean) * (u + 0.5) + mean`` (a new ``u ~ U[0, 1)`` per image and transform);
* ``translation``: a shift of up to 1/8 of the side in each direction, zero padding;
* ``cutout``: a zeroed square of half the side, centred anywhere in the image.

Randomness is stateless: it is a function of ``(seed, step, stream)`` drawn for the *global* batch,
of which each replica takes its slice. So a run is reproducible, resumes exactly, and 1 or N replicas
augment identically. Translation is a product with one-hot shift matrices (deterministic, with an
exact gradient) rather than a gather.

:func:`mirror_batch` flips real images left-right with probability 1/2 (StyleGAN2-ADA's ``--mirror``),
also stateless, in the data pipeline.
"""

from __future__ import annotations

import tensorflow as tf

OPERATIONS = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"translation,cutout"`` -> ``("translation", "cutout")``; ``""`` -> ``()``; unknown names raise."""
    ops = tuple(p.strip() for p in (policy or "").split(",") if p.strip())
    unknown = [p for p in ops if p not in OPERATIONS]
    if unknown:
        raise ValueError(f"train.augment: unknown operation(s) {unknown}; choose from {', '.join(OPERATIONS)}")
    return ops


def _uniform(shape, seed, minval=0, maxval=None, dtype=tf.float32):
    if dtype.is_floating:
        return tf.random.stateless_uniform(shape, seed=seed, minval=float(minval),
                                           maxval=1.0 if maxval is None else float(maxval), dtype=dtype)
    return tf.random.stateless_uniform(shape, seed=seed, minval=minval, maxval=maxval, dtype=dtype)


def _seed(seed: tf.Tensor, stream: int) -> tf.Tensor:
    """A distinct stateless seed per random quantity of one augmentation call."""
    return tf.stack([seed[0], seed[1] * 16 + stream])


def color(x: tf.Tensor, u: tf.Tensor) -> tf.Tensor:
    """Brightness, saturation, contrast; ``u`` holds three U[0, 1) draws per image, shape (batch, 3)."""
    b = tf.reshape(u[:, 0], [-1, 1, 1, 1])
    s = tf.reshape(u[:, 1], [-1, 1, 1, 1])
    c = tf.reshape(u[:, 2], [-1, 1, 1, 1])
    x = x + (b - 0.5)
    mean_c = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean_c) * (s * 2.0) + mean_c
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * (c + 0.5) + mean


def _shift_matrices(shift: tf.Tensor, size: int, dtype) -> tf.Tensor:
    """(batch, size, size) matrices M with (M @ v)[i] = v[i - shift] (zero where that falls outside)."""
    rows = tf.range(size)[None, :, None]
    cols = tf.range(size)[None, None, :]
    return tf.cast(tf.equal(cols, rows - shift[:, None, None]), dtype)


def translation(x: tf.Tensor, shift_y: tf.Tensor, shift_x: tf.Tensor) -> tf.Tensor:
    """Shift each image by (``shift_y``, ``shift_x``) pixels (int32 per image), zero padding."""
    h, w = x.shape[1], x.shape[2]
    x = tf.einsum("bij,bjwc->biwc", _shift_matrices(shift_y, h, x.dtype), x)
    return tf.einsum("bij,bhjc->bhic", _shift_matrices(shift_x, w, x.dtype), x)


def cutout(x: tf.Tensor, centre_y: tf.Tensor, centre_x: tf.Tensor) -> tf.Tensor:
    """Zero a square of half the side centred at (``centre_y``, ``centre_x``) (int32 per image)."""
    h, w = x.shape[1], x.shape[2]
    size_y, size_x = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    ys = tf.range(h)[None, :, None]
    xs = tf.range(w)[None, None, :]
    top = centre_y[:, None, None] - size_y // 2
    left = centre_x[:, None, None] - size_x // 2
    inside = (ys >= top) & (ys < top + size_y) & (xs >= left) & (xs < left + size_x)
    return x * tf.cast(~inside, x.dtype)[..., None]


def diff_augment(x: tf.Tensor, ops: tuple[str, ...], *, seed: tf.Tensor, global_batch, first) -> tf.Tensor:
    """Apply ``ops`` to this replica's images ``x``: rows ``first .. first+len(x)`` of the global batch whose
    random draws come from ``seed`` (a stateless seed pair)."""
    if not ops:
        return x
    n = tf.shape(x)[0]
    h, w = x.shape[1], x.shape[2]

    def draw(stream, width, **kw):
        return _uniform([global_batch, width], _seed(seed, stream), **kw)[first:first + n]

    if "color" in ops:
        x = color(x, tf.cast(draw(0, 3), x.dtype))
    if "translation" in ops:
        sy, sx = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
        x = translation(x, draw(1, 1, minval=-sy, maxval=sy + 1, dtype=tf.int32)[:, 0],
                        draw(2, 1, minval=-sx, maxval=sx + 1, dtype=tf.int32)[:, 0])
    if "cutout" in ops:
        size_y, size_x = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
        x = cutout(x, draw(3, 1, maxval=h + (1 - size_y % 2), dtype=tf.int32)[:, 0],
                   draw(4, 1, maxval=w + (1 - size_x % 2), dtype=tf.int32)[:, 0])
    return x


def mirror_batch(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Flip each image left-right with probability 1/2, from the stateless ``seed``."""
    flip = mirror_flags(tf.shape(images)[0], seed)
    # A gather of each image's columns, forwards or backwards: the same result as a select between the
    # batch and its reverse, measured 2x faster on the CPU (BENCHMARKS.md, host overhead).
    width = tf.shape(images)[2]
    columns = tf.where(flip[:, None], tf.range(width - 1, -1, -1)[None, :], tf.range(width)[None, :])
    return tf.gather(images, columns, axis=2, batch_dims=1)


def mirror_flags(batch: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Which images of a batch :func:`mirror_batch` flips, from the stateless ``seed``."""
    return _uniform([batch], seed) < 0.5
