"""``FusedBatchNormalization``: Keras's BatchNormalization with its training pass as one fused op.

Keras 3 normalises with ``tf.nn.moments`` and ``tf.nn.batch_normalization``: about ten elementwise
and reduction ops forward and as many backward, each a full pass over the activations. TensorFlow's
``FusedBatchNormV3`` (oneDNN on CPU, cuDNN on GPU) does the forward in one op and the backward in
one ``FusedBatchNormGradV3``. On the canonical DCGAN step that cuts BatchNorm from ~12% to ~4% of
the busy time (BENCHMARKS.md, "Profile of the training step"); on this 2-core CPU the wall-clock
difference was within noise.

Same weights (gamma, beta, moving mean and variance, in Keras's order), same arguments and the same
results as ``keras.layers.BatchNormalization`` up to float rounding, including the moving variance,
which Keras updates with the *biased* batch variance: the fused op returns the unbiased one, which
is scaled back here. Used only where it is equivalent: training on 4D channels-last inputs without
a mask or cross-replica synchronisation; everything else (inference, 2D inputs, ``synchronized``)
is Keras's own path. Exported models use plain BatchNormalization (``facegan.training.export_models``),
so loading them does not need facegan.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="facegan")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    def _fusable(self, inputs, training, mask) -> bool:
        return (bool(training) and self.trainable and mask is None and not self.synchronized and not self.renorm
                and self.scale and self.center and len(inputs.shape) == 4 and self.axis in (-1, 3))

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        x = tf.convert_to_tensor(inputs)
        if x.dtype not in (tf.float16, tf.bfloat16, tf.float32):
            x = tf.cast(x, tf.float32)
        y, mean, unbiased_var = tf.compat.v1.nn.fused_batch_norm(
            x, tf.cast(self.gamma, tf.float32), tf.cast(self.beta, tf.float32), epsilon=self.epsilon,
            data_format="NHWC", is_training=True)
        n = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), tf.float32)
        variance = unbiased_var * tf.maximum(n - 1.0, 1.0) / n
        m = self.momentum
        self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
        self.moving_variance.assign(self.moving_variance * m + variance * (1.0 - m))
        return tf.cast(y, self.compute_dtype)


# Row a of _BOX_FLIPPED sums the taps of a 3x3 kernel that land on tap a of the 4x4 transposed-convolution kernel
# equivalent to nearest-neighbour upsampling by 2 and that 3x3 convolution (flipped: a transposed convolution
# correlates). One einsum with it on each axis: pads and slices cost more than the convolution (BENCHMARKS.md).
_BOX_FLIPPED = ((0, 0, 1), (0, 1, 1), (1, 1, 0), (1, 0, 0))


@keras.saving.register_keras_serializable(package="facegan")
class NearestUpsampleConv(keras.layers.Layer):
    """Nearest-neighbour upsampling by 2 and a 3x3 'same' convolution (no bias) as one stride-2 transposed
    convolution: the two are the same linear map, borders included, with the 4x4 kernel of ``_BOX_FLIPPED``
    applied to the 3x3 one. So it costs a transposed convolution's 4 multiply-adds
    per output instead of the 3x3 convolution's 9 at the upsampled resolution, and, unlike a free 4x4
    transposed kernel, every output phase sums the same weights: a flat input stays flat (no checkerboard).
    Its one weight is the 3x3 convolution's kernel, in ``keras.layers.Conv2D``'s layout, so its weights load
    into ``UpSampling2D(2, "nearest")`` + ``Conv2D(filters, 3, padding="same", use_bias=False)`` and back
    (:mod:`facegan.models` exports with those)."""

    def __init__(self, filters: int, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(3, 3, input_shape[-1], self.filters),
                                      initializer=self.kernel_initializer)

    def call(self, x):
        box = tf.constant(_BOX_FLIPPED, self.kernel.dtype)
        kernel = tf.einsum("ai,bj,ijco->aboc", box, box, self.kernel)  # (4, 4, out, in), as conv2d_transpose reads
        shape = tf.shape(x)
        out = tf.stack([shape[0], 2 * shape[1], 2 * shape[2], self.filters])
        return tf.nn.conv2d_transpose(x, tf.cast(kernel, self.compute_dtype), out, 2, "SAME")

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        return (b, None if h is None else 2 * h, None if w is None else 2 * w, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}


@keras.saving.register_keras_serializable(package="facegan")
class MinibatchStddev(keras.layers.Layer):
    """StyleGAN's minibatch standard deviation: one feature map holding, for each group of ``group_size``
    images, the standard deviation of every feature over the group averaged to one number, appended to the
    channels (``training/networks.py`` of StyleGAN2-ADA, ``num_channels=1``). Image ``i`` of a batch of ``n``
    falls in group ``i mod (n / group)``, as there; ``n`` must be a multiple of the group size (or smaller).
    """

    def __init__(self, group_size: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = int(group_size)

    def call(self, x):
        shape = tf.shape(x)
        n, h, w, c = shape[0], shape[1], shape[2], shape[3]
        g = tf.minimum(self.group_size, n)
        tf.debugging.assert_equal(n % g, 0, message="MinibatchStddev: the batch must be a multiple of the group")
        y = tf.reshape(tf.cast(x, tf.float32), [g, -1, h, w, c])
        y = y - tf.reduce_mean(y, axis=0)
        y = tf.sqrt(tf.reduce_mean(tf.square(y), axis=0) + 1e-8)  # (n/g, h, w, c)
        y = tf.reduce_mean(y, axis=[1, 2, 3])[:, None, None, None]  # one number per group
        y = tf.tile(y, [g, h, w, 1])  # row i of the batch gets group i mod (n/g)
        return tf.concat([x, tf.cast(y, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


@keras.saving.register_keras_serializable(package="facegan")
class ConditionEncoding(keras.layers.Layer):
    """Conditions ``(batch, attributes)`` of class indices -> the concatenated one-hot codes of every
    attribute (``(batch, classes of all attributes)``; an unknown value, -1, is all zeros). Its config holds
    the :class:`facegan.conditioning.Conditioning` (names, classes and the data's joint distribution), so a
    saved generator knows what it can be asked for."""

    def __init__(self, conditioning: dict, **kwargs):
        super().__init__(**kwargs)
        self.conditioning = conditioning

    @property
    def spec(self):
        from facegan.conditioning import Conditioning

        return Conditioning.from_json(self.conditioning)

    def call(self, labels):
        labels = tf.cast(labels, tf.int32)
        codes = [tf.one_hot(labels[:, i], len(classes), dtype=self.compute_dtype)
                 for i, classes in enumerate(self.conditioning["classes"])]
        return tf.concat(codes, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], sum(len(c) for c in self.conditioning["classes"]))

    def get_config(self):
        return {**super().get_config(), "conditioning": self.conditioning}
