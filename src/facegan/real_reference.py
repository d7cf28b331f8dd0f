"""The real reference, computed once per data set: set A, the real-data floor and (with FID) A's
Inception features, in ``results/eval/real_reference.npz`` (see :mod:`facegan.reference`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from facegan import metrics
from facegan.files import atomic_output
from facegan.inception_graph import InceptionGraphError, find_graph, graph_features
from facegan.reference import FAKE_SEED_OFFSET, REAL_SEED_OFFSET, reference_size

log = logging.getLogger(__name__)


def compute_real_reference(*, shard_files: list[str], stats_path: str, resolution: int, n: int, seed: int,
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
    images = read_images(shard_files, resolution, 2 * n, seed=seed)
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
