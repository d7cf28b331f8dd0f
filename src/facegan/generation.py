"""Faces from a saved generator: loading it, seeded noise, batched generation.

The basics that the pictures (:mod:`facegan.pictures`), the metrics (:mod:`facegan.evaluation`) and the
``facegan`` command share. Noise comes from numpy's generator seeded by the caller, so the same seed
gives the same faces with any backend or device; images are generated with ``training=False``
(BatchNorm's moving statistics), in batches.
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
    shape_in, shape_out = tuple(model.input_shape), tuple(model.output_shape)
    if len(shape_in) != 2 or len(shape_out) != 4 or shape_out[-1] != 3:
        raise ModelFileError(f"{path} is not a generator: it maps {shape_in} to {shape_out}, a generator maps "
                             f"(None, latent_dim) to (None, H, W, 3) (is it the discriminator?)")
    return model


def latent_dim(generator) -> int:
    return int(generator.input_shape[-1])


def noise(n: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def generate(generator, z: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """uint8 images ``(n, H, W, 3)`` for the latent vectors ``z``."""
    out = [to_uint8(generator(z[i:i + batch_size], training=False)) for i in range(0, len(z), batch_size)]
    return np.concatenate(out) if out else np.zeros((0,) + tuple(generator.output_shape[1:]), np.uint8)
