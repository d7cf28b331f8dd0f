"""The real reference, and the metrics of a generator measured against it and against the real-data floor.

:func:`compute_real_reference` reads ``2n`` distinct real images from the shards once per data set:
set A (``n`` images) is what every generator is compared with; set B (the next ``n``, disjoint from
A) is compared with A to give the **real-data floor**, the SWD that a perfect generator would read at
this sample size. ``results/eval/real_reference.npz`` keeps A as uint8 (12.6 MB for 1,024 images at
64x64; descriptors are recomputed from it in seconds), the floor, and Inception features of A when
the weights exist. Its rule depends only on the shards and the evaluate keys, so retraining reruns
:func:`evaluate` alone.

``metrics.json``: the generator's SWD and ``swd_vs_floor`` (its SWD over the floor's: 1.0 is as
good as real data can read), the floor itself, and an untrained generator of the same architecture
(``swd_ratio`` = trained / untrained). :class:`SwdProbe` measures the same SWD during training.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from facegan import metrics
from facegan.errors import FaceganError
from facegan.files import atomic_output, write_json
from facegan.inception_graph import InceptionGraphError, find_graph, graph_features

log = logging.getLogger(__name__)

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


def compute_real_reference(shard_files: list[str], stats_path: str, resolution: int, n: int, seed: int,
                           out_npz: str | Path, fid: bool = False, inception_graph: str = "") -> dict:
    """Write the real reference (see the module's docstring); returns its metadata."""
    from facegan.reader import read_images

    stats = json.loads(Path(stats_path).read_text())
    requested, kept = n, int(stats["kept"])
    n = reference_size(requested, kept)
    if n < requested:
        log.warning("evaluate.images is %d but the data set holds %d images: the metrics compare %d real with %d "
                    "generated images (a real-data floor needs two disjoint sets; fewer images read noisier)",
                    requested, kept, n, n)
    images = read_images(shard_files, resolution, 2 * n, seed)
    real_a, real_b = images[:n], images[n:]
    # Set B is measured exactly as a generator's images are (same patch seed): what a perfect one reads.
    floor = metrics.swd(metrics.swd_descriptors(real_a, seed + REAL_SEED_OFFSET),
                        metrics.swd_descriptors(real_b, seed + FAKE_SEED_OFFSET), seed=seed)
    arrays, skipped = {"images": real_a}, None
    if fid:
        try:
            arrays["inception_feats"] = graph_features(find_graph(inception_graph), real_a).astype(np.float32)
        except InceptionGraphError as exc:
            skipped = str(exc)
            log.warning("%s", skipped)
    else:
        skipped = "FID/KID not computed (evaluate.fid is false)"
    meta = {"dataset_sha256": stats["dataset_sha256"], "images": n, "requested": requested, "resolution": resolution,
            "seed": seed, "swd_floor": floor, "fid_skipped": skipped}
    Path(out_npz).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out_npz) as tmp:
        np.savez(tmp, meta=json.dumps(meta), **arrays)
    log.info("real reference: %d images (and %d disjoint ones for the floor) -> %s; real-data floor SWD avg x1e3 %.2f",
             n, n, out_npz, floor["SWDx1e3_avg"])
    return meta


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
        from facegan.generation import generate, latent_dim, noise

        return generate(generator, noise(self.n, latent_dim(generator), self.seed + FAKE_SEED_OFFSET))

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

    def __init__(self, reference_path: str | Path, model):
        from facegan.models import models_for
        from facegan.runtime import dtype_policy

        self.reference = Reference(reference_path)
        if self.reference.meta["resolution"] != model.resolution:
            raise FaceganError(f"{reference_path} holds {self.reference.meta['resolution']}px images but training "
                               f"is at {model.resolution}px; rerun real_reference")
        with dtype_policy("float32"):
            self.generator = models_for(model)[0]
        # The real side's sorted projections are the same at every measurement: kept when they fit.
        size = sum(d.shape[0] for d in self.reference.descriptors.values()) * metrics.DIR_REPEATS \
            * metrics.DIRS_PER_REPEAT * 4
        self.real_cache = {} if size <= PROBE_CACHE_BYTES else None

    def measure(self, generator) -> dict:
        self.generator.set_weights([np.asarray(w, np.float32) for w in generator.get_weights()])
        return self.reference.swd(self.reference.fakes(self.generator), real_cache=self.real_cache)[0]


def _fid(reference: Reference, fake: np.ndarray, inception_graph: str, seed: int) -> dict:
    """FID and KID of ``fake`` against the reference's features, with a note that gives the image count."""
    if reference.inception_feats is None:
        note = reference.meta.get("fid_skipped") or "FID/KID not computed (evaluate.fid is false)"
        return {"fid": None, "kid": None, "fid_note": note}
    try:
        feats = graph_features(find_graph(inception_graph), fake)
    except InceptionGraphError as exc:
        raise FaceganError(f"{reference.path} holds Inception features, but the graph is gone: {exc}") from exc
    real = reference.inception_feats.astype(np.float64)
    kid, kid_std = metrics.kid(real, feats, seed=seed)
    n = len(fake)
    return {"fid": metrics.frechet_distance(real.mean(0), np.cov(real, rowvar=False), feats.mean(0),
                                            np.cov(feats, rowvar=False)),
            "kid": kid, "kid_std": kid_std, "fid_images": n,
            "fid_note": (f"standard FID (the FID paper's Inception graph, pool_3) of {n} generated vs {n} real images"
                         + ("; biased upward below 10,000 images: compare with papers only at their counts"
                            if n < 10_000 else ""))}


def evaluate(generator_path: str, training_options_path: str, reference_path: str, n: int, seed: int,
             out_json: str | Path, inception_graph: str = "", classifier_dir: str | Path | None = None) -> dict:
    import keras

    from facegan.generation import load_generator
    from facegan.models import models_for

    reference = Reference(reference_path)
    meta = reference.meta
    if meta.get("requested", meta["images"]) != n or reference.seed != seed:
        raise FaceganError(f"{reference_path} was made for evaluate.images {meta.get('requested')} and seed "
                           f"{reference.seed}, not {n} and {seed}: rerun real_reference (snakemake evaluate does)")
    generator = load_generator(generator_path)
    fake = reference.fakes(generator)
    model = json.loads(Path(training_options_path).read_text())["train_options"]["model"]
    keras.utils.set_random_seed(seed)
    untrained_g, _ = models_for(model)
    trained, untrained = reference.swd(fake, reference.fakes(untrained_g))
    n = reference.n

    result = {"images": n, "resolution": meta["resolution"], "dataset_sha256": meta["dataset_sha256"],
              "generator": str(generator_path), "swd": trained, "swd_floor": reference.floor,
              "swd_vs_floor": trained["swd_vs_floor"], "swd_untrained": untrained,
              "swd_ratio": trained["SWDx1e3_avg"] / untrained["SWDx1e3_avg"],
              "swd_note": (f"Karras et al. 2018 SWD (x1e3) on {n} real vs {n} generated images, "
                           f"{metrics.NHOODS_PER_IMAGE} descriptors per image and level; the paper used 16384 images. "
                           f"swd_floor: the same between {n} real images and {n} other real images (what a perfect "
                           f"generator would read); swd_vs_floor = swd / swd_floor, 1.0 is perfect")}
    result.update(_fid(reference, fake, inception_graph, seed))
    if classifier_dir is not None:
        result["attributes"] = _attributes(classifier_dir, reference.images, fake)
    Path(out_json).parent.mkdir(parents=True, exist_ok=True)
    write_json(out_json, result)
    log.info("SWD avg x1e3: trained %.2f = %.2fx the real-data floor %.2f; untrained %.2f (ratio %.3f)",
             trained["SWDx1e3_avg"], result["swd_vs_floor"], reference.floor["SWDx1e3_avg"],
             untrained["SWDx1e3_avg"], result["swd_ratio"])
    return result


def _attributes(classifier_dir: str | Path, real: np.ndarray, fake: np.ndarray) -> dict:
    """The attribute comparison for metrics.json, logged in words."""
    from facegan import attribute_classifier

    model, report = attribute_classifier.load(classifier_dir)
    if model is None:
        log.info("attribute coverage skipped: %s", report["skipped"])
        return {"skipped": report["skipped"]}
    result = attribute_classifier.compare_generated(model, report, real, fake)
    if "skipped" in result:
        log.info("attribute coverage skipped: %s", result["skipped"])
        return result
    log.info("attributes: joint coverage %.2f of the %d combinations of %s holding >= %.0f%% of the real images "
             "(real vs real: %.2f); largest total variation distance %.3f (real vs real: %.3f)",
             result["joint_coverage"], result["joint_combinations"], "+".join(result["joint_attributes"]),
             100 * result["joint_min_share"], result["real_vs_real"]["joint_coverage"], result["max_tvd"],
             result["real_vs_real"]["max_tvd"])
    log.info("largest differences: %s", "; ".join(result["largest_differences"]))
    return result
