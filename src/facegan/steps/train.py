"""The train stage's step: one job on the GPUs it asked for (or the CPU)."""

from __future__ import annotations

import logging

from facegan.steps.runner import step

log = logging.getLogger("facegan.steps")


@step
def train(*, shards: list[str], stats: str, model: dict, training: dict, resolution: int, seed: int, state_dir: str,
          reference: str | None = None, attributes: str | None = None, attribute_spec: str | None = None,
          threads: int | None = None, gpus_granted: int | None = None, config: dict | None = None,
          extra_callbacks: tuple = (), **outputs: str) -> None:
    """Train (or resume) the GAN into ``outputs`` (the files of :data:`facegan.train_outputs.TRAIN_FILES`, by
    keyword). ``model``/``training`` are the config's ``model`` and ``train`` blocks;
    ``gpus_granted`` is the job's ``gpu`` resource as Snakemake granted it (it silently cuts a request
    above ``--resources gpu=N`` down to N); ``config`` is recorded in training_options.json;
    ``extra_callbacks`` (tests, notebooks) run after facegan's own. ``reference`` (the real reference) is
    needed when ``train.swd_every_epochs`` is set; the SWD it measures goes to ``swd``. ``attributes`` and
    ``attribute_spec`` (the data stage's attribute files) when ``model.conditions`` is."""
    from facegan.config import with_defaults
    from facegan.gpulock import assign_gpus

    training = with_defaults({"train": training})["train"]
    requested = training["gpus"]
    if gpus_granted is not None and int(gpus_granted) < requested:
        log.warning("train.gpus is %d but Snakemake granted this job %d GPU(s) (--resources gpu caps every job): "
                    "training with %d", requested, gpus_granted, gpus_granted)
        training["gpus"] = int(gpus_granted)
    lease = assign_gpus(training["gpus"])  # before TensorFlow starts; held until training ends
    from facegan.options import TrainOptions
    from facegan.train_outputs import TrainOutputs
    from facegan.training import train_gan

    try:
        opts = TrainOptions.from_config(model, training, resolution=resolution, seed=seed, threads=threads)
        train_gan(list(shards), stats_path=stats, opts=opts, outputs=TrainOutputs(**outputs), state_dir=state_dir,
                  resolved_config=config, extra_callbacks=tuple(extra_callbacks), reference=reference,
                  attributes=(attributes, attribute_spec) if attributes else None)
    finally:
        if lease:
            lease.release()
