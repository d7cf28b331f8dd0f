"""The real reference and the metrics of a generator against it.

:func:`compute_real_reference` reads images from the shards once per data set and stores what the
metrics need of them (SWD descriptors per level; Inception mean, covariance and features when the
weights exist) in ``results/eval/real_reference.npz``. Its rule depends only on the shards and the
evaluate keys, so retraining reruns :func:`evaluate` alone, which generates the same number of faces
and compares.

``metrics.json`` also holds the SWD of an untrained generator of the same architecture (seeded
initialisation), so progress reads as a ratio: ``swd_ratio`` = trained / untrained (lower is better).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from facegan import metrics
from facegan.errors import FaceganError

log = logging.getLogger(__name__)

REAL_SEED_OFFSET, FAKE_SEED_OFFSET = 101, 202


def compute_real_reference(shard_files: list[str], stats_path: str, resolution: int, n: int, seed: int,
                       out_npz: str | Path, inception_weights: str = "") -> dict:
    stats = json.loads(Path(stats_path).read_text())
    dataset_sha, kept = stats["dataset_sha256"], int(stats["kept"])
    from facegan.reader import read_images

    requested, n = n, min(n, kept)
    if n < requested:
        log.warning("evaluate.images is %d but the data set holds only %d images: the metrics compare %d real "
                    "with %d generated images (fewer images make them noisier)", requested, kept, n, n)
    real = read_images(shard_files, resolution, n, seed)
    desc = metrics.swd_descriptors(real, seed + REAL_SEED_OFFSET)
    arrays = {f"swd_{res}": d for res, d in desc.items()}
    weights = metrics.inception_weights_path(inception_weights)
    if weights:
        feats = metrics.inception_features(metrics.inception_model(weights), real)
        arrays.update(inception_mu=feats.mean(0), inception_sigma=np.cov(feats, rowvar=False), inception_feats=feats)
    else:
        log.warning("%s", metrics.missing_weights_message(inception_weights))
    meta = {"dataset_sha256": dataset_sha, "images": n, "requested": requested, "resolution": resolution, "seed": seed,
            "inception": str(weights) if weights else None}
    Path(out_npz).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(out_npz) + ".part.npz")
    np.savez(tmp, meta=json.dumps(meta), **arrays)
    tmp.replace(out_npz)
    log.info("real statistics of %d images (%s) -> %s", n, ", ".join(sorted(arrays)), out_npz)
    return meta


def _swd_of(generator, n: int, seed: int, real_desc: dict) -> tuple[dict, np.ndarray]:
    from facegan.generation import generate, latent_dim, noise

    fake = generate(generator, noise(n, latent_dim(generator), seed + FAKE_SEED_OFFSET))
    return metrics.swd(real_desc, metrics.swd_descriptors(fake, seed + FAKE_SEED_OFFSET), seed=seed), fake


def evaluate(generator_path: str, training_options_path: str, reference_path: str, n: int, seed: int,
             out_json: str | Path, inception_weights: str = "") -> dict:
    import keras

    from facegan.generation import load_generator
    from facegan.models import build_models

    reference = np.load(reference_path)
    meta = json.loads(str(reference["meta"]))
    if meta.get("requested", meta["images"]) != n:
        raise FaceganError(f"{reference_path} was made for evaluate.images {meta.get('requested', meta['images'])} "
                           f"but evaluate.images is {n}: rerun real_reference (snakemake evaluate does)")
    n = meta["images"]  # fewer when the data set is smaller than evaluate.images
    real_desc = {int(k.split("_")[1]): reference[k] for k in reference.files if k.startswith("swd_")}
    generator = load_generator(generator_path)
    trained, fake = _swd_of(generator, n, seed, real_desc)

    model = json.loads(Path(training_options_path).read_text())["train_options"]["model"]
    keras.utils.set_random_seed(seed)
    untrained_g, _ = build_models(model["architecture"], model["resolution"], model["latent_dim"], model["width"])
    untrained, _ = _swd_of(untrained_g, n, seed, real_desc)

    result = {"images": n, "resolution": meta["resolution"], "dataset_sha256": meta["dataset_sha256"],
              "generator": str(generator_path), "swd": trained, "swd_untrained": untrained,
              "swd_ratio": trained["SWDx1e3_avg"] / untrained["SWDx1e3_avg"],
              "swd_note": (f"Karras et al. 2018 SWD (x1e3) on {n} real vs {n} generated images, "
                           f"{metrics.NHOODS_PER_IMAGE} descriptors per image and level; the paper used 16384 images")}
    if "inception_mu" in reference.files:
        weights = metrics.inception_weights_path(inception_weights)
        if weights is None:
            raise FaceganError(f"{reference_path} has Inception statistics but the weights are gone: "
                               + metrics.missing_weights_message(inception_weights))
        feats = metrics.inception_features(metrics.inception_model(weights), fake)
        result["fid"] = metrics.frechet_distance(reference["inception_mu"], reference["inception_sigma"], feats.mean(0),
                                                 np.cov(feats, rowvar=False))
        result["kid"], result["kid_std"] = metrics.kid(reference["inception_feats"], feats, seed=seed)
        result["fid_note"] = ("keras.applications.InceptionV3 pool features: tracks progress, not comparable with "
                              "papers' FID (2015 Inception graph, 50k samples)")
    else:
        result["fid"] = result["kid"] = None
        result["fid_note"] = metrics.missing_weights_message(inception_weights)
        log.warning("%s", result["fid_note"])
    Path(out_json).parent.mkdir(parents=True, exist_ok=True)
    Path(out_json).write_text(json.dumps(result, indent=2) + "\n")
    log.info("SWD avg x1e3: trained %.2f, untrained %.2f (ratio %.3f)", trained["SWDx1e3_avg"],
             untrained["SWDx1e3_avg"], result["swd_ratio"])
    return result
