"""The metrics of a generator, measured against the real reference and the real-data floor.

The real reference (:mod:`facegan.real_reference`, loaded by :class:`facegan.reference.Reference`) holds
set A of the real images, the floor (SWD between A and a disjoint set B: what a perfect generator reads
at this sample size) and, with FID on, A's Inception features. Its rule depends only on the shards and
the evaluate keys, so retraining reruns :func:`evaluate` alone.

``metrics.json``: the generator's SWD and ``swd_vs_floor`` (its SWD over the floor's: 1.0 is as
good as real data can read), the floor itself, an untrained generator of the same architecture
(``swd_ratio`` = trained / untrained), FID/KID with the image count, and the attributes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from facegan import metrics
from facegan.errors import FaceganError
from facegan.files import write_json
from facegan.inception_graph import InceptionGraphError, find_graph, graph_features
from facegan.reference import Reference

log = logging.getLogger(__name__)

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
    return {"fid": metrics.frechet_distance(mu1=real.mean(0), sigma1=np.cov(real, rowvar=False), mu2=feats.mean(0),
                                            sigma2=np.cov(feats, rowvar=False)),
            "kid": kid, "kid_std": kid_std, "fid_images": n,
            "fid_note": (f"standard FID (the FID paper's Inception graph, pool_3) of {n} generated vs {n} real images"
                         + ("; biased upward below 10,000 images: compare with papers only at their counts"
                            if n < 10_000 else ""))}


def evaluate_generator(generator_path: str, *, training_options_path: str, reference_path: str, n: int, seed: int,
                       out_json: str | Path, inception_graph: str = "",
                       classifier_dir: str | Path | None = None, obedience_images: int = 250) -> dict:
    import keras

    from facegan.generation import conditioning_of, load_generator
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
    spec = conditioning_of(generator)
    untrained_g, _ = models_for(model, conditioning=spec and spec.to_json())
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
        if spec is not None:
            result["obedience"] = _obedience(generator, classifier_dir, per_value=obedience_images, seed=seed)
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
    result = attribute_classifier.compare_generated(model, report, real_images=real, fake_images=fake)
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


def _obedience(generator, classifier_dir: str | Path, *, per_value: int, seed: int) -> dict:
    """A conditioned generator's obedience for metrics.json, logged in words."""
    from facegan import attribute_classifier
    from facegan.obedience import obedience

    model, report = attribute_classifier.load(classifier_dir)
    if model is None:
        log.info("obedience not measured: %s", report["skipped"])
        return {"skipped": report["skipped"]}
    result = obedience(generator, model, report, per_value=per_value, seed=seed)
    for line in result["lines"]:
        log.info("obeys %s", line)
    for name, why in result["not_read"].items():
        log.info("obedience to %s not measured: %s", name, why)
    return result
