"""The evaluation stage's steps: the real images' reference statistics once, then each generator's metrics."""

from __future__ import annotations

from facegan.steps.runner import hide_gpus, step


@step
def real_reference(*, shards: list[str], stats: str, reference: str, resolution: int, images: int, seed: int,
                   inception_weights: str = "") -> None:
    """What the metrics need of the real images, computed once per data set."""
    hide_gpus()
    from facegan.evaluation import compute_real_reference

    compute_real_reference(list(shards), stats, resolution=resolution, n=images, seed=seed, out_npz=reference,
                           inception_weights=inception_weights)


@step
def evaluate(*, generator: str, training_options: str, reference: str, metrics: str, images: int, seed: int,
             inception_weights: str = "") -> None:
    """Metrics of the trained generator against the real reference (and of an untrained one)."""
    hide_gpus()
    from facegan.evaluation import evaluate as run

    run(generator, training_options, reference, images, seed, metrics, inception_weights)
