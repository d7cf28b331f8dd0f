"""Faces from a saved generator: loading it, seeded noise, batched generation.

The basics that the pictures (:mod:`facegan.pictures`), the metrics (:mod:`facegan.evaluation`) and the
``facegan`` command share. Noise comes from numpy's generator seeded by the caller, so the same seed
gives the same faces with any backend or device; images are generated with ``training=False``
(BatchNorm's moving statistics), in batches.

A conditioned generator (:mod:`facegan.conditioning`) takes ``[z, conditions]``: :func:`inputs` draws the
conditions from the data's joint distribution that the saved model carries (its own seeded stream), with
some attributes fixed on request.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegan.errors import FaceganError
from facegan.images import to_uint8


class ModelFileError(FaceganError):
    """The generator file is missing, unreadable or not a generator."""


def load_generator(path: str | Path):
    """A generator saved as ``.keras`` or ``.h5`` (the notebooks' format); a clear error otherwise."""
    import keras

    import facegan.layers  # noqa: F401 - registers ConditionEncoding, which conditioned generators hold

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"no generator at {path}; train one first (snakemake train)")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - h5py, zipfile and Keras each raise their own types
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ModelFileError(f"{path} is not a readable Keras model ({type(exc).__name__}: {reason}); use a "
                             f"generator.keras or generator.h5 saved by facegan (results/train/), or train again "
                             f"(snakemake train)") from exc
    shape_in, shape_out = tuple(_noise_input(model).shape), tuple(model.output_shape)
    if len(shape_in) != 2 or len(shape_out) != 4 or shape_out[-1] != 3:
        raise ModelFileError(f"{path} is not a generator: it maps {shape_in} to {shape_out}, a generator maps "
                             f"(None, latent_dim) to (None, H, W, 3) (is it the discriminator?)")
    return model


def _noise_input(generator):
    return generator.inputs[0]


def latent_dim(generator) -> int:
    return int(_noise_input(generator).shape[-1])


def conditioning_of(generator):
    """The :class:`facegan.conditioning.Conditioning` a generator was trained with, or None."""
    from facegan.layers import ConditionEncoding

    for layer in generator.layers:
        if isinstance(layer, ConditionEncoding):
            return layer.spec
    return None


def noise(n: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


CONDITION_STREAM = 0xC0  # the conditions' numpy stream: [seed, CONDITION_STREAM], never the noise's


def inputs(generator, z: np.ndarray, seed: int, fixed: dict[int, int] | None = None):
    """What ``generator`` takes for the latent vectors ``z``: ``z``, or ``[z, conditions]`` for a conditioned
    generator (drawn from the data's joint distribution by ``seed``, attribute ``i`` set to ``fixed[i]``)."""
    spec = conditioning_of(generator)
    if spec is None:
        if fixed:
            raise FaceganError("this generator is not conditioned: it takes no --condition (train one with "
                               "model.conditions)")
        return z
    return [z, spec.draw(len(z), np.random.default_rng([seed, CONDITION_STREAM]), fixed)]


def generate(generator, z, batch_size: int = 256) -> np.ndarray:
    """uint8 images ``(n, H, W, 3)`` for the generator's inputs: latent vectors ``z``, or ``[z, conditions]``."""
    parts = z if isinstance(z, (list, tuple)) else [z]
    n = len(parts[0])

    def batch(i):
        sliced = [p[i:i + batch_size] for p in parts]
        return sliced if len(sliced) > 1 else sliced[0]

    out = [to_uint8(generator(batch(i), training=False)) for i in range(0, n, batch_size)]
    return np.concatenate(out) if out else np.zeros((0,) + tuple(generator.output_shape[1:]), np.uint8)
