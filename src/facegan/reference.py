"""The real reference and the SWD measured against it: what training's probe and the evaluation share.

``results/eval/real_reference.npz`` (written by :func:`facegan.evaluation.compute_real_reference`) keeps
set A of the real images (``n``, uint8), the **real-data floor** (the SWD between A and a disjoint set B
of ``n`` other real images: what a perfect generator reads at this sample size) and, when FID is on,
Inception features of A. :class:`Reference` loads it and measures image sets against A;
:class:`SwdProbe` measures a generator during training exactly as the evaluation measures its export.
This module needs only the metrics and generation, so editing the evaluation stage or the attribute
classifier never reruns training.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from facegan import metrics
from facegan.errors import FaceganError

REAL_SEED_OFFSET, FAKE_SEED_OFFSET = 101, 202
MIN_IMAGES = 16
PROBE_CACHE_BYTES = 1_200_000_000  # 1,000 images at 64x64 need 0.79 GB; CelebA's 10,000 would need 7.9


def reference_size(requested: int, kept: int) -> int:
    """How many images each compared set holds: ``evaluate.images``, or half the data set when the data
    set cannot hold two disjoint sets of that size."""
    n = min(requested, kept // 2)
    if n < MIN_IMAGES:
        raise FaceganError(f"the data set holds {kept} images; the metrics need at least {2 * MIN_IMAGES} (two "
                           f"disjoint sets of {MIN_IMAGES})")
    return n


class Reference:
    """A loaded real reference: set A's images, its SWD descriptors, the floor and the metadata."""

    def __init__(self, path: str | Path):
        with np.load(path) as data:
            if "images" not in data.files:
                raise FaceganError(f"{path} is a real reference in an older format; rerun real_reference "
                                   f"(snakemake evaluate does)")
            self.meta = json.loads(str(data["meta"]))
            self.images = data["images"]
            self.inception_feats = data["inception_feats"] if "inception_feats" in data.files else None
        self.path = Path(path)
        self.n = int(self.meta["images"])
        self.seed = int(self.meta["seed"])
        self.floor = self.meta["swd_floor"]
        self.descriptors = metrics.swd_descriptors(self.images, self.seed + REAL_SEED_OFFSET)

    def fakes(self, generator) -> np.ndarray:
        """The ``n`` generated images every measurement of a generator uses (noise seeded as the reference)."""
        from facegan.generation import generate, inputs, latent_dim, noise

        seed = self.seed + FAKE_SEED_OFFSET
        return generate(generator, inputs(generator, noise(self.n, latent_dim(generator), seed), seed))

    def swd(self, *image_sets: np.ndarray, real_cache: dict | None = None) -> list[dict]:
        """SWD of each image set against set A, with ``swd_vs_floor`` added to each."""
        descs = [metrics.swd_descriptors(images, self.seed + FAKE_SEED_OFFSET) for images in image_sets]
        results = metrics.swd_many(self.descriptors, descs, seed=self.seed, real_cache=real_cache)
        for r in results:
            r["swd_vs_floor"] = r["SWDx1e3_avg"] / self.floor["SWDx1e3_avg"]
        return results


class SwdProbe:
    """The SWD of a generator during training, exactly as :func:`evaluate` measures the exported one: the
    weights are copied into a float32 generator of the same architecture (so a mixed-precision run reads
    the same as its export)."""

    def __init__(self, reference_path: str | Path, model, conditioning: dict | None = None):
        from facegan.models import models_for
        from facegan.runtime import dtype_policy

        self.reference = Reference(reference_path)
        if self.reference.meta["resolution"] != model.resolution:
            raise FaceganError(f"{reference_path} holds {self.reference.meta['resolution']}px images but training "
                               f"is at {model.resolution}px; rerun real_reference")
        with dtype_policy("float32"):
            self.generator = models_for(model, conditioning=conditioning)[0]
        # The real side's sorted projections are the same at every measurement: kept when they fit.
        size = sum(d.shape[0] for d in self.reference.descriptors.values()) * metrics.DIR_REPEATS \
            * metrics.DIRS_PER_REPEAT * 4
        self.real_cache = {} if size <= PROBE_CACHE_BYTES else None

    def measure(self, generator) -> dict:
        self.generator.set_weights([np.asarray(w, np.float32) for w in generator.get_weights()])
        return self.reference.swd(self.reference.fakes(self.generator), real_cache=self.real_cache)[0]
