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

Options beyond the canonical networks (each off by default, so the canonical models are unchanged):

* ``upsample="nearest"``: the generator doubles its resolution by nearest-neighbour upsampling and a
  3x3 convolution instead of a transposed convolution (no checkerboard; keras-io's ``gan_ada.py``). Trained
  with ``fused_upsample`` (:class:`facegan.layers.NearestUpsampleConv`: the same map as one transposed
  convolution, at its cost); saved with Keras's own layers, which hold the same weights;
* ``d_norm="spectral"``: every discriminator layer spectrally normalised
  (``keras.layers.SpectralNormalization``, one power iteration per call; SNGAN), its BatchNorm removed;
  ``d_norm="none"``: the discriminator without normalisation (for the R1 penalty, StyleGAN2's setup);
* ``rgb_skips=True``: the generator's image is the sum of an RGB image read from every resolution (a 1x1
  convolution of its features), each upsampled bilinearly to the next and added (StyleGAN2's "skip"
  generator): the coarse layers paint smooth colour directly, the fine ones add detail;
* ``pack=P``: the discriminator scores P images at once, stacked along the channels (PacGAN, Lin et al.
  2018): a generator that drops modes makes packs that look alike, which a discriminator of packs sees; the
  discriminator also runs on 1/P as many inputs. The GAN packs its batches (:func:`facegan.gan.pack`);
* ``minibatch_std=G``: StyleGAN's minibatch standard deviation feature before the discriminator's last
  layer (groups of ``G`` images; one feature map).
* ``conditioning`` (a :class:`facegan.conditioning.Conditioning` as JSON): both networks take a second
  input, the conditions (one class index per attribute). The generator reads their one-hot codes beside
  the noise (cGAN's embedding: the first layer's weights on the codes are each class's embedding); the
  discriminator adds a projection term, the inner product of a class embedding with its globally pooled
  last features (Miyato & Koyama 2018, the cGAN-PD of the mimicry tables). With ``classify_conditions`` the
  discriminator also classifies each conditioned attribute from the same features (AC-GAN's auxiliary
  classifier, Odena et al. 2017): its output is then the logit followed by every attribute's class logits.
  With ``conditional_batchnorm`` the codes also modulate every BatchNorm of the generator, a per-channel
  scale and shift from a linear map of the codes (class-conditional BatchNorm, de Vries et al. 2017, as in
  the projection discriminator's generator), starting at no modulation.
* ``latent_batchnorm=True``: the noise modulates every BatchNorm of the generator the same way (with the codes
  when both are on: BigGAN's conditional BatchNorm from the noise), so what is global in a face (the
  background's colour, the light) reaches every position of every layer at once.

Outputs are float32 even under a mixed-precision policy (the last layer's dtype), so losses and
exported images never lose precision.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import keras
from keras import layers

from facegan.layers import ConditionEncoding, FusedBatchNormalization, MinibatchStddev, NearestUpsampleConv
from facegan.options import D_NORMS, UPSAMPLINGS, ModelOptions, canonical_architecture

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


def _upscale(filters: int, kernel: int, upsample: str, init, fused: bool = False):
    """A layer (or pair of layers) that doubles the resolution: a transposed convolution, or nearest
    upsampling and a 3x3 convolution (``fused``: as one layer of the same weights)."""
    if upsample == "transposed":
        return [layers.Conv2DTranspose(filters, kernel, strides=2, padding="same", use_bias=False,
                                       kernel_initializer=init)]
    if upsample == "nearest" and fused:
        return [NearestUpsampleConv(filters, kernel_initializer=init)]
    if upsample == "nearest":  # one node, as the fused layer: the networks' weights list in the same order
        return [keras.Sequential([layers.UpSampling2D(2, interpolation="nearest"),
                                  layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer=init)])]
    raise ValueError(f"model.upsample must be one of {UPSAMPLINGS}, got {upsample!r}")


def _to_rgb(x, init):
    return layers.Conv2D(3, 1, use_bias=False, kernel_initializer=init)(x)


def _add_rgb(rgb, x, init):
    """StyleGAN2's skip: the image so far upsampled bilinearly plus this resolution's RGB (``rgb`` None: no
    skips, ``None`` back)."""
    if rgb is None:
        return None
    return layers.Add()([layers.UpSampling2D(2, interpolation="bilinear")(rgb), _to_rgb(x, init)])


def _apply(stack, x):
    for layer in stack:
        x = layer(x)
    return x


def _condition_input(conditioning: dict | None):
    if not conditioning:
        return None, None
    labels = keras.Input((len(conditioning["names"]),), dtype="int32", name="conditions")
    return labels, ConditionEncoding(conditioning, name="condition_encoding")(labels)


def _generator_input(latent_dim: int, conditioning: dict | None, conditional_batchnorm: bool,
                     latent_batchnorm: bool):
    """(the generator's inputs, the vector its first layer reads, what modulates its BatchNorms or None)."""
    z = keras.Input((latent_dim,), name="z")
    labels, codes = _condition_input(conditioning)
    modulation = [v for v, on in ((z, latent_batchnorm), (codes, codes is not None and conditional_batchnorm)) if on]
    modulation = None if not modulation else modulation[0] if len(modulation) == 1 else \
        layers.Concatenate(name="z_and_codes")(modulation)
    if labels is None:
        return z, z, modulation
    return [z, labels], layers.Concatenate(name="z_and_conditions")([z, codes]), modulation


def _modulate(x, codes):
    """``x * (1 + gamma(codes)) + beta(codes)`` per channel: class-conditional BatchNorm's part after the
    BatchNorm (``codes`` None: ``x`` unchanged)."""
    if codes is None:
        return x
    channels = x.shape[-1]
    shape = (1,) * (len(x.shape) - 2) + (channels,)
    gamma, beta = (layers.Reshape(shape)(layers.Dense(channels, use_bias=False, kernel_initializer="zeros")(codes))
                   for _ in range(2))
    return layers.Add()([x, layers.Multiply()([x, gamma]), beta])


def _with_projection(logit, features, labels, codes, d_norm: str, classify: int = 0):
    """``logit`` plus the projection term <embed(conditions), pooled features> (no-op unconditioned); with
    ``classify`` (the classes of all attributes) the class logits of an auxiliary classifier after it."""
    if labels is None:
        return logit
    pooled = layers.GlobalAveragePooling2D()(features)
    embedded = _d_layer(layers.Dense(features.shape[-1], use_bias=False, name="condition_embedding"), d_norm)(codes)
    logit = layers.Add()([logit, layers.Dot(axes=1)([pooled, embedded])])
    if not classify:
        return logit
    classes = _d_layer(layers.Dense(classify, name="condition_classes"), d_norm)(pooled)
    return layers.Concatenate()([logit, classes])


def _classes(conditioning: dict | None, classify: bool) -> int:
    return sum(len(c) for c in conditioning["classes"]) if conditioning and classify else 0


def dcgan_generator(resolution: int = 64, *, latent_dim: int = 100, width: int = 64, batchnorm: str = "keras",
                    upsample: str = "transposed", fused_upsample: bool = False, rgb_skips: bool = False,
                    conditioning: dict | None = None, conditional_batchnorm: bool = False,
                    latent_batchnorm: bool = False, g_refine: int = 0) -> keras.Model:
    n = _stages(resolution, 4)  # 64 -> 4 stride-2 stages after the 4x4 projection
    init = _dcgan_init()
    inputs, x, codes = _generator_input(latent_dim, conditioning, conditional_batchnorm, latent_batchnorm)
    x = layers.Reshape((1, 1, x.shape[-1]))(x)
    x = layers.Conv2DTranspose(width * 2 ** (n - 1), 4, strides=1, padding="valid", use_bias=False,
                               kernel_initializer=init)(x)
    x = layers.ReLU()(_modulate(_bn(batchnorm)(x), codes))
    rgb = _to_rgb(x, init) if rgb_skips else None
    for i in range(n - 1, 0, -1):
        x = _apply(_upscale(width * 2 ** (i - 1), 4, upsample, init, fused_upsample), x)
        x = layers.ReLU()(_modulate(_bn(batchnorm)(x), codes))
        rgb = _add_rgb(rgb, x, init)
    x = _apply(_upscale(g_refine or 3, 4, upsample, init, fused_upsample), x)
    if g_refine:  # features at full resolution, then a 3x3 convolution to RGB
        x = layers.ReLU()(_modulate(_bn(batchnorm)(x), codes))
        x = layers.Conv2D(3, 3, padding="same", use_bias=False, kernel_initializer=init)(x)
    if rgb is not None:
        x = layers.Add()([layers.UpSampling2D(2, interpolation="bilinear")(rgb), x])
    out = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model(inputs, out, name="generator")


def _d_layer(layer, d_norm: str):
    if d_norm not in D_NORMS:
        raise ValueError(f"model.d_norm must be one of {D_NORMS}, got {d_norm!r}")
    return keras.layers.SpectralNormalization(layer) if d_norm == "spectral" else layer


def _image_input(resolution: int, pack: int, conditioning: dict | None):
    if pack > 1 and conditioning:
        raise ValueError("model.pack > 1 does not work with model.conditions (a pack has no one condition)")
    return keras.Input((resolution, resolution, 3 * pack), name="image")


def dcgan_discriminator(resolution: int = 64, *, width: int = 64, batchnorm: str = "keras", d_norm: str = "standard",
                        minibatch_std: int = 0, pack: int = 1, conditioning: dict | None = None,
                        classify_conditions: bool = False, d_stem: int = 0) -> keras.Model:
    n = _stages(resolution, 4)
    init = _dcgan_init()
    img = _image_input(resolution, pack, conditioning)
    labels, codes = _condition_input(conditioning)
    x = img
    if d_stem:  # a 3x3 convolution at full resolution before the first stride-2 one
        x = layers.LeakyReLU(0.2)(_d_layer(layers.Conv2D(d_stem, 3, padding="same", use_bias=False,
                                                         kernel_initializer=init), d_norm)(x))
    for i in range(n):
        x = _d_layer(layers.Conv2D(width * 2 ** i, 4, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=init), d_norm)(x)
        if i > 0 and d_norm == "standard":
            x = _bn(batchnorm)(x)
        x = layers.LeakyReLU(0.2)(x)
    features = x
    if minibatch_std:
        x = MinibatchStddev(minibatch_std)(x)
    x = _d_layer(layers.Conv2D(1, 4, strides=1, padding="valid", use_bias=False, kernel_initializer=init), d_norm)(x)
    logit = _with_projection(layers.Flatten()(x), features, labels, codes, d_norm,
                             _classes(conditioning, classify_conditions))
    out = layers.Activation("linear", dtype="float32", name="logit")(logit)
    return keras.Model(img if labels is None else [img, labels], out, name="discriminator")


def tutorial_generator(resolution: int = 64, *, latent_dim: int = 100, width: int = 64, batchnorm: str = "keras",
                       upsample: str = "transposed", fused_upsample: bool = False, rgb_skips: bool = False,
                       conditioning: dict | None = None, conditional_batchnorm: bool = False,
                    latent_batchnorm: bool = False) -> keras.Model:
    n = _stages(resolution, 8)
    top = width * 2 ** n
    inputs, x, codes = _generator_input(latent_dim, conditioning, conditional_batchnorm, latent_batchnorm)
    x = layers.Dense(8 * 8 * top, use_bias=False)(x)
    x = layers.LeakyReLU(0.2)(_modulate(_batchnorm_layer(batchnorm)(x), codes))
    x = layers.Reshape((8, 8, top))(x)
    x = layers.Conv2DTranspose(top // 2, 5, strides=1, padding="same", use_bias=False)(x)
    x = layers.LeakyReLU(0.2)(_modulate(_batchnorm_layer(batchnorm)(x), codes))
    init = "glorot_uniform"  # Keras's default
    rgb = _to_rgb(x, init) if rgb_skips else None
    for i in range(n - 1, 0, -1):
        x = _apply(_upscale(width * 2 ** (i - 1), 5, upsample, init, fused_upsample), x)
        x = layers.LeakyReLU(0.2)(_modulate(_batchnorm_layer(batchnorm)(x), codes))
        rgb = _add_rgb(rgb, x, init)
    x = _apply(_upscale(3, 5, upsample, init, fused_upsample), x)
    if rgb is not None:
        x = layers.Add()([layers.UpSampling2D(2, interpolation="bilinear")(rgb), x])
    out = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model(inputs, out, name="generator")


def tutorial_discriminator(resolution: int = 64, *, width: int = 64, batchnorm: str = "keras", d_norm: str = "standard",
                           minibatch_std: int = 0, pack: int = 1, conditioning: dict | None = None,
                           classify_conditions: bool = False) -> keras.Model:
    """``d_norm``: the tutorial's discriminator has no normalisation, so "standard" and "none" are the same."""
    n = _stages(resolution, 8)
    img = _image_input(resolution, pack, conditioning)
    labels, codes = _condition_input(conditioning)
    x = img
    for i in range(n):
        x = _d_layer(layers.Conv2D(width * 2 ** i, 5, strides=2, padding="same"), d_norm)(x)
        x = layers.Dropout(0.3)(layers.LeakyReLU(0.2)(x))
    features = x
    if minibatch_std:
        x = MinibatchStddev(minibatch_std)(x)
    x = _d_layer(layers.Dense(1), d_norm)(layers.Flatten()(x))
    logit = _with_projection(x, features, labels, codes, d_norm, _classes(conditioning, classify_conditions))
    out = layers.Activation("linear", dtype="float32", name="logit")(logit)
    return keras.Model(img if labels is None else [img, labels], out, name="discriminator")


def build_models(*, architecture: str, resolution: int, latent_dim: int, width: int, d_width: int | None = None,
                 batchnorm: str = "keras", upsample: str = "transposed", fused_upsample: bool = False,
                 rgb_skips: bool = False, latent_batchnorm: bool = False, d_norm: str = "standard",
                 minibatch_std: int = 0, pack: int = 1, conditions: tuple = (), conditioning: dict | None = None,
                 classify_conditions: bool = False, conditional_batchnorm: bool = False, g_refine: int = 0,
                 d_stem: int = 0) -> tuple[keras.Model, keras.Model]:
    """(generator, discriminator) for ``model.architecture`` and the model options (see the module's docstring);
    ``d_width`` (None: ``width``) is the discriminator's channel multiplier.
    ``conditions`` (the config's names) must be the names of ``conditioning``, which the data resolve."""
    if tuple(conditions) != tuple((conditioning or {}).get("names", ())):
        raise ValueError(f"model.conditions {list(conditions)} needs the data's conditioning on those attributes, "
                         f"got {conditioning and conditioning.get('names')}")
    g_extra, d_extra = {}, {}
    if canonical_architecture(architecture) == "dcgan":
        make_g, make_d = dcgan_generator, dcgan_discriminator
        g_extra, d_extra = {"g_refine": g_refine}, {"d_stem": d_stem}
    elif g_refine or d_stem:
        raise ValueError("model.g_refine and model.d_stem are options of model.architecture: dcgan")
    else:
        make_g, make_d = tutorial_generator, tutorial_discriminator
    return (make_g(resolution, latent_dim=latent_dim, width=width, batchnorm=batchnorm, upsample=upsample,
                   fused_upsample=fused_upsample, rgb_skips=rgb_skips, conditioning=conditioning,
                   conditional_batchnorm=conditional_batchnorm, latent_batchnorm=latent_batchnorm, **g_extra),
            make_d(resolution, width=d_width or width, batchnorm=batchnorm, d_norm=d_norm,
                   minibatch_std=minibatch_std, pack=pack, conditioning=conditioning,
                   classify_conditions=classify_conditions, **d_extra))


def models_for(model: ModelOptions | dict, batchnorm: str = "keras", conditioning: dict | None = None,
               fused_upsample: bool = False) -> tuple[keras.Model, keras.Model]:
    """:func:`build_models` for a run's model options (a :class:`ModelOptions`, or its dict in
    training_options.json: keys a run of an older facegan lacks take their defaults) and, for a
    conditioned model, the data's conditioning (JSON)."""
    options = asdict(model) if isinstance(model, ModelOptions) else dict(model)
    return build_models(batchnorm=batchnorm, conditioning=conditioning, fused_upsample=fused_upsample, **options)


def trainable_params(model: keras.Model) -> int:
    return int(sum(math.prod(v.shape) for v in model.trainable_variables))
