"""Faces from a saved generator: loading it, seeded noise, batched generation.

The basics that the pictures (:mod:`facegan.pictures`), the metrics (:mod:`facegan.evaluation`) and the
``facegan`` command share. Noise comes from numpy's generator seeded by the caller, so the same seed
gives the same faces with any backend or device; images are generated with ``training=False``
(BatchNorm's moving statistics), in batches.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegan.images import to_uint8


def load_generator(path: str | Path):
    """A generator saved as ``.keras`` or ``.h5`` (the notebooks' format)."""
    import keras

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no generator at {path}; train one first (snakemake train)")
    return keras.models.load_model(path, compile=False)


def latent_dim(generator) -> int:
    return int(generator.input_shape[-1])


def noise(n: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def generate(generator, z: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """uint8 images ``(n, H, W, 3)`` for the latent vectors ``z``."""
    out = [to_uint8(generator(z[i:i + batch_size], training=False)) for i in range(0, len(z), batch_size)]
    return np.concatenate(out) if out else np.zeros((0,) + tuple(generator.output_shape[1:]), np.uint8)
