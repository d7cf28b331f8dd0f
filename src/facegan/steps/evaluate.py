"""The evaluation stage's steps: the real images' reference statistics once, then each generator's metrics."""

from __future__ import annotations

import json
import os
from pathlib import Path

from facegan.steps.runner import hide_gpus, step


@step
def real_reference(*, shards: list[str], stats: str, reference: str, resolution: int, images: int, seed: int,
                   fid: bool = False, inception_graph: str = "") -> None:
    """What the metrics need of the real images, computed once per data set."""
    hide_gpus()
    from facegan.real_reference import compute_real_reference

    compute_real_reference(shard_files=list(shards), stats_path=stats, resolution=resolution, n=images, seed=seed,
                           out_npz=reference,
                           fid=fid, inception_graph=inception_graph)


@step
def attribute_classifier(*, shards: list[str], attributes: str, attribute_spec: str, classifier: str,
                         resolution: int, seed: int, threshold: float, images: int, gpus: int = 0,
                         niceness: int = 0) -> None:
    """Train the attribute classifier on the real images (on a GPU when training has them), ``niceness``
    lower in CPU priority than its caller (so that it takes only the CPU the other jobs leave)."""
    from facegan.gpulock import assign_gpus

    if niceness:
        os.nice(niceness)

    lease = assign_gpus(gpus)
    from facegan.attribute_classifier import skip_report, train_classifier
    from facegan.attributes import load_attribute_files
    from facegan.reader import read_in_order

    try:
        attrs, labels = load_attribute_files(attributes, attribute_spec)
        if not attrs:
            spec = json.loads(Path(attribute_spec).read_text())
            skip_report(classifier, spec.get("note", "the data set's attribute table names no attributes"))
            return
        real = read_in_order(list(shards), resolution, limit=images)
        train_classifier(real, labels[:len(real)], attrs, seed=seed, threshold=threshold, out_dir=classifier)
    finally:
        if lease:
            lease.release()


@step
def evaluate(*, generator: str, training_options: str, reference: str, classifier: str, metrics: str, images: int,
             seed: int, inception_graph: str = "", obedience_images: int = 250) -> None:
    """Metrics of the trained generator against the real reference (and of an untrained one), its
    attributes against the real ones and, conditioned, whether it obeys."""
    hide_gpus()
    from facegan.evaluation import evaluate_generator

    evaluate_generator(generator, training_options_path=training_options, reference_path=reference, n=images,
                       seed=seed, out_json=metrics, inception_graph=inception_graph, classifier_dir=classifier,
                       obedience_images=obedience_images)
