"""Generator and discriminator architectures.

``dcgan``: Radford et al.'s network exactly as the PyTorch DCGAN tutorial builds it at 64x64 (latent
100, width 64 gives G 3,576,704 and D 2,765,568 trainable parameters). G projects the noise with a
4x4 transposed convolution, then doubles the resolution with 4x4 stride-2 transposed convolutions
(BatchNorm + ReLU), tanh out; D mirrors it with 4x4 stride-2 convolutions and LeakyReLU(0.2),
BatchNorm everywhere but the first layer, and a 4x4 valid convolution to one logit. Weights start
N(0, 0.02) (BatchNorm scales N(1, 0.02)), BatchNorm momentum/epsilon as PyTorch's. Each factor of 2
in resolution adds one block (128x128: G starts at width*16).

``tutorial`` (formerly ``seed``): the TensorFlow DCGAN tutorial's shape, which the seed notebooks
used: a Dense projection to 8x8, 5x5 transposed convolutions with BatchNorm and LeakyReLU, tanh out;
D of 5x5 stride-2 convolutions with LeakyReLU and Dropout 0.3, then Dense to one logit. Keras
default initialisers.

Outputs are float32 even under a mixed-precision policy (the last layer's dtype), so losses and
exported images never lose precision.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from facegan.layers import FusedBatchNormalization
from facegan.options import canonical_architecture

# BatchNormalization kinds: "keras" (plain; exported models), "fused" (one fused op per training
# pass: less work, for one replica), "synchronized" (statistics over all replicas).
BATCHNORM = ("keras", "fused", "synchronized")


def _stages(resolution: int, first: int) -> int:
    n = math.log2(resolution / first)
    if resolution < 2 * first or n != int(n):
        raise ValueError(f"resolution must be {first} times a power of two (>= {2 * first}), got {resolution}")
    return int(n)


def _dcgan_init():
    # No per-layer seed (it would give same-shaped layers identical weights): keras.utils.set_random_seed
    # makes initialisation reproducible.
    return keras.initializers.RandomNormal(0.0, 0.02)


def _batchnorm_layer(batchnorm: str, **kwargs) -> layers.BatchNormalization:
    """A BatchNormalization of kind ``batchnorm`` (see BATCHNORM); all kinds have the same weights."""
    if batchnorm == "fused":
        return FusedBatchNormalization(**kwargs)
    if batchnorm in ("keras", "synchronized"):
        return layers.BatchNormalization(synchronized=batchnorm == "synchronized", **kwargs)
    raise ValueError(f"batchnorm must be one of {BATCHNORM}, got {batchnorm!r}")


def _bn(batchnorm: str):
    # PyTorch's BatchNorm2d defaults (momentum 0.1 = Keras 0.9, eps 1e-5); gamma ~ N(1, 0.02).
    return _batchnorm_layer(batchnorm, momentum=0.9, epsilon=1e-5,
                            gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02))


def dcgan_generator(resolution: int = 64, latent_dim: int = 100, width: int = 64,
                    batchnorm: str = "keras") -> keras.Model:
    n = _stages(resolution, 4)  # 64 -> 4 stride-2 stages after the 4x4 projection
    init = _dcgan_init()
    z = keras.Input((latent_dim,), name="z")
    x = layers.Reshape((1, 1, latent_dim))(z)
    x = layers.Conv2DTranspose(width * 2 ** (n - 1), 4, strides=1, padding="valid", use_bias=False,
                               kernel_initializer=init)(x)
    x = layers.ReLU()(_bn(batchnorm)(x))
    for i in range(n - 1, 0, -1):
        x = layers.Conv2DTranspose(width * 2 ** (i - 1), 4, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=init)(x)
        x = layers.ReLU()(_bn(batchnorm)(x))
    x = layers.Conv2DTranspose(3, 4, strides=2, padding="same", use_bias=False, kernel_initializer=init)(x)
    out = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model(z, out, name="generator")


def dcgan_discriminator(resolution: int = 64, width: int = 64, batchnorm: str = "keras") -> keras.Model:
    n = _stages(resolution, 4)
    init = _dcgan_init()
    img = keras.Input((resolution, resolution, 3), name="image")
    x = img
    for i in range(n):
        x = layers.Conv2D(width * 2 ** i, 4, strides=2, padding="same", use_bias=False, kernel_initializer=init)(x)
        if i > 0:
            x = _bn(batchnorm)(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(1, 4, strides=1, padding="valid", use_bias=False, kernel_initializer=init)(x)
    out = layers.Activation("linear", dtype="float32", name="logit")(layers.Flatten()(x))
    return keras.Model(img, out, name="discriminator")


def tutorial_generator(resolution: int = 64, latent_dim: int = 100, width: int = 64,
                       batchnorm: str = "keras") -> keras.Model:
    n = _stages(resolution, 8)
    top = width * 2 ** n
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(8 * 8 * top, use_bias=False)(z)
    x = layers.LeakyReLU(0.2)(_batchnorm_layer(batchnorm)(x))
    x = layers.Reshape((8, 8, top))(x)
    x = layers.Conv2DTranspose(top // 2, 5, strides=1, padding="same", use_bias=False)(x)
    x = layers.LeakyReLU(0.2)(_batchnorm_layer(batchnorm)(x))
    for i in range(n - 1, 0, -1):
        x = layers.Conv2DTranspose(width * 2 ** (i - 1), 5, strides=2, padding="same", use_bias=False)(x)
        x = layers.LeakyReLU(0.2)(_batchnorm_layer(batchnorm)(x))
    x = layers.Conv2DTranspose(3, 5, strides=2, padding="same", use_bias=False)(x)
    out = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model(z, out, name="generator")


def tutorial_discriminator(resolution: int = 64, width: int = 64, batchnorm: str = "keras") -> keras.Model:
    n = _stages(resolution, 8)
    img = keras.Input((resolution, resolution, 3), name="image")
    x = img
    for i in range(n):
        x = layers.Conv2D(width * 2 ** i, 5, strides=2, padding="same")(x)
        x = layers.Dropout(0.3)(layers.LeakyReLU(0.2)(x))
    x = layers.Dense(1)(layers.Flatten()(x))
    out = layers.Activation("linear", dtype="float32", name="logit")(x)
    return keras.Model(img, out, name="discriminator")


def build_models(architecture: str, resolution: int, latent_dim: int, width: int,
                 batchnorm: str = "keras") -> tuple[keras.Model, keras.Model]:
    """(generator, discriminator) for ``model.architecture``."""
    if canonical_architecture(architecture) == "dcgan":
        return (dcgan_generator(resolution, latent_dim, width, batchnorm),
                dcgan_discriminator(resolution, width, batchnorm))
    return (tutorial_generator(resolution, latent_dim, width, batchnorm),
            tutorial_discriminator(resolution, width, batchnorm))


def trainable_params(model: keras.Model) -> int:
    return int(sum(math.prod(v.shape) for v in model.trainable_variables))
