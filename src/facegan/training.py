"""Training: build the GAN, resume from the training state, ``fit()``, save the models.

* A killed job (SIGKILL, SLURM time limit, preemption) resumes from its last checkpoint - epoch ends
  always, and every ``checkpoint_every_steps`` steps when set - the next time the rule runs; raising
  ``train.epochs`` continues from the last epoch (:mod:`facegan.train_state`).
* A checkpoint trained with other settings (:meth:`facegan.options.TrainOptions.fingerprint`) is
  moved aside and training starts fresh, with a warning naming the settings that differ.
* A non-finite loss stops training with an error and leaves the last good checkpoint in place
  (:mod:`facegan.callbacks`).

Resumed runs end with the same weights as uninterrupted ones: the data order of each epoch depends
only on ``(seed, epoch)`` (:mod:`facegan.reader`), the noise only on ``(seed, step)``
(:mod:`facegan.gan`), and a mid-epoch resume skips the batches already trained on.

A conditioned run (``model.conditions``) reads the data's attribute files for each image's conditions
and their joint distribution (:mod:`facegan.conditioning`), which the saved models carry.
"""

from __future__ import annotations

import json
import logging
import platform
import shutil
import sys
from pathlib import Path

import numpy as np

from facegan.errors import FaceganError
from facegan.files import atomic_output, write_json
from facegan.options import ModelOptions, TrainOptions
from facegan.train_outputs import TrainOutputs

log = logging.getLogger(__name__)

NOISE_SEED_FIXED_GRID = 2**31 - 1  # the progress grids' noise: its own stream, never a training step's


def build_gan(opts: TrainOptions, setup, *, policy: str, batchnorm: str | None = None, steps_per_execution: int = 1,
              conditioning=None, steps_per_epoch: int | None = None):
    """The compiled GAN exactly as ``train_gan`` uses it (call inside ``setup.strategy.scope()``).

    ``batchnorm`` (benchmarks only): by default fused BatchNorm (one op per pass, the same results,
    less work: BENCHMARKS.md), except across replicas, which need synchronised statistics.
    ``conditioning``: the data's :class:`facegan.conditioning.Conditioning` for a conditioned run.
    ``steps_per_epoch``: needed when the learning rates decay (``train.lr_decay_epochs``).
    """
    from facegan.augment import parse_policy
    from facegan.gan import GAN, make_optimizer
    from facegan.models import models_for

    m, o, g = opts.model, opts.optimizer, opts.gan
    batchnorm = batchnorm or ("synchronized" if setup.replicas > 1 else "fused")
    spec = conditioning.to_json() if conditioning is not None else None
    generator, discriminator = models_for(m, batchnorm=batchnorm, conditioning=spec, fused_upsample=True)
    decay = {}
    if o.lr_decay_epochs:
        if not steps_per_epoch:
            raise ValueError("train.lr_decay_epochs needs the run's steps_per_epoch")
        decay = {"total_steps": opts.run.epochs * steps_per_epoch,
                 "decay_steps": min(o.lr_decay_epochs, opts.run.epochs) * steps_per_epoch}
    d_opt = make_optimizer(o.d_learning_rate, o.beta_1, policy=policy, beta_2=o.beta_2, **decay)
    g_opt = make_optimizer(o.learning_rate, o.beta_1, policy=policy, beta_2=o.beta_2, **decay)
    # Build the optimizers' slots inside the scope before the first traced step (under
    # MirroredStrategy, lazily created slots fail with "You must feed a value for placeholder").
    d_opt.build(discriminator.trainable_variables)
    g_opt.build(generator.trainable_variables)
    generator_ema = None
    if g.ema_kimg > 0:  # built after G and D, so the canonical models' initial weights are unchanged
        generator_ema = models_for(m, conditioning=spec)[0]
    gan = GAN(generator, discriminator, m.latent_dim, seed=opts.data.seed, label_smoothing=g.label_smoothing,
              loss=g.loss, augment=parse_policy(g.augment), generator_ema=generator_ema, ema_kimg=g.ema_kimg,
              ema_rampup=g.ema_rampup, r1_gamma=g.r1_gamma, r1_every=g.r1_every, conditioning=conditioning,
              class_weight=g.class_weight, generator_class_weight=g.generator_class_weight,
              class_balance=g.class_balance, attribute_weights=dict(g.attribute_weights))
    gan.reset_ema()
    # XLA is slower on CPU and fails across logical CPU devices; Keras's "auto" is right on GPU.
    gan.compile(d_optimizer=d_opt, g_optimizer=g_opt, jit_compile=False if setup.kind == "cpu" else "auto",
                steps_per_execution=steps_per_execution)
    return gan


def save_models(model: ModelOptions, generator, discriminator, *, outputs: TrainOutputs, conditioning=None) -> None:
    """Save float32 copies with Keras's own layers (portable whatever precision and devices trained them).

    ``generator`` is the one that makes the pictures: the EMA generator when training keeps one.
    """
    from facegan.models import models_for
    from facegan.runtime import dtype_policy

    with dtype_policy("float32"):
        g32, d32 = models_for(model, conditioning=conditioning and conditioning.to_json())
    g32.set_weights([np.asarray(w, dtype=np.float32) for w in generator.get_weights()])
    d32.set_weights([np.asarray(w, dtype=np.float32) for w in discriminator.get_weights()])
    for path in (outputs.generator, outputs.generator_h5, outputs.discriminator):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    for model, path in ((g32, outputs.generator), (g32, outputs.generator_h5), (d32, outputs.discriminator)):
        with atomic_output(path) as tmp:
            model.save(tmp)


def _swd_probe(opts: TrainOptions, reference: str | Path | None, conditioning=None):
    """The SWD probe when ``train.swd_every_epochs`` asks for one (it needs the real reference)."""
    if not opts.run.swd_every_epochs:
        return None
    if not reference:
        raise FaceganError("train.swd_every_epochs is set but no real reference was given (the train rule takes "
                           "results/eval/real_reference.npz as its input 'reference')")
    from facegan.reference import SwdProbe

    return SwdProbe(reference, opts.model, conditioning=conditioning and conditioning.to_json())


def _data_size(stats_path: str | Path, opts: TrainOptions, replicas: int) -> tuple[dict, int]:
    """stats.json and the steps per epoch, or a clear error when the data cannot train this config."""
    stats = json.loads(Path(stats_path).read_text())
    batch = opts.data.batch_size
    if stats.get("resolution") != opts.model.resolution:
        raise FaceganError(f"{stats_path} says the shards are {stats.get('resolution')}px but training expects "
                           f"{opts.model.resolution}px; rerun the data stage")
    steps_per_epoch = int(stats["kept"]) // batch
    if steps_per_epoch < 1:
        raise FaceganError(f"train.batch_size {batch} is larger than the data set ({stats['kept']} images)")
    if batch % replicas:
        raise FaceganError(f"train.batch_size {batch} is not divisible by the {replicas} replicas")
    if (batch // replicas) % opts.model.pack:
        raise FaceganError(f"each replica's batch ({batch // replicas}) is not a multiple of model.pack "
                           f"{opts.model.pack}: change train.batch_size or model.pack")
    return stats, steps_per_epoch


def _record(opts: TrainOptions, policy: str, setup, stats: dict, steps_per_epoch: int, resumed: dict | None,
            outputs: TrainOutputs, resolved_config: dict | None) -> dict:
    """training_options.json: the resolved options, devices, data checksum, versions and command."""
    import keras
    import tensorflow as tf

    return {
        "config": resolved_config or {},
        "train_options": opts.as_dict(),
        "precision_policy": policy,
        "devices": setup.describe(),
        "global_batch_size": opts.data.batch_size,
        "per_replica_batch_size": opts.data.batch_size // setup.replicas,
        "steps_per_epoch": steps_per_epoch,
        "images": int(stats["kept"]),
        "dataset_sha256": stats["dataset_sha256"],
        "resumed_from": resumed,
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
                     "numpy": np.__version__, "platform": platform.platform()},
        "command": " ".join(sys.argv),
        "outputs": {k: str(v) for k, v in vars(outputs).items()},
    }


def _outputs_from_state(state, outputs: TrainOutputs) -> None:
    """Copy what the declared outputs hold from the training state."""
    shutil.copyfile(state.history_path, outputs.history)
    if outputs.swd:
        state.rewrite_swd()  # a header-only file when nothing was measured
        shutil.copyfile(state.swd_path, outputs.swd)
    if outputs.steps:
        state.truncate_steps(2**62)  # rewritten whole: a header-only file when nothing was logged
        shutil.copyfile(state.steps_path, outputs.steps)
    for folder, source in ((outputs.progress, state.progress_dir), (outputs.snapshots, state.snapshot_dir)):
        if not folder:
            continue
        folder = Path(folder)
        if folder.is_symlink():
            folder.unlink()
        shutil.rmtree(folder, ignore_errors=True)
        if source.is_dir():
            shutil.copytree(source, folder)
        else:
            folder.mkdir(parents=True)


def _float32_copier(model: ModelOptions, conditioning=None):
    """A function that copies a generator's weights into one float32 generator with Keras's layers (built once)."""
    from facegan.models import models_for
    from facegan.runtime import dtype_policy

    with dtype_policy("float32"):
        copy = models_for(model, conditioning=conditioning and conditioning.to_json())[0]

    def float32_copy(generator):
        copy.set_weights([np.asarray(w, np.float32) for w in generator.get_weights()])
        return copy

    return float32_copy


def _restore(opts: TrainOptions, setup, policy: str, executions: int, state, steps_per_epoch: int, conditioning=None):
    """The GAN built in the strategy's scope and restored from the newest readable checkpoint:
    (gan, checkpoints, resume point)."""
    from facegan.callbacks import ResumePoint
    from facegan.train_state import Checkpoints

    with setup.strategy.scope():
        gan = build_gan(opts, setup, policy=policy, steps_per_execution=executions, conditioning=conditioning,
                        steps_per_epoch=steps_per_epoch)
        tracked = {"generator_ema": gan.generator_ema} if gan.generator_ema is not None else {}
        checkpoints = Checkpoints(state.ckpt_dir, steps_per_epoch, generator=gan.generator,
                                  discriminator=gan.discriminator, d_optimizer=gan.d_optimizer,
                                  g_optimizer=gan.g_optimizer, **tracked)
        checkpoints.remove_orphans()
        state.remove_orphans()
        latest = checkpoints.restore_latest()
    if latest:
        log.info("resumed from %s", latest)
    resume = ResumePoint(*checkpoints.position)
    epochs = opts.run.epochs
    if resume.epoch > epochs or (resume.epoch == epochs and resume.step):
        raise FaceganError(f"the checkpoint in {state.dir} is at epoch {resume.epoch} but train.epochs is "
                           f"{epochs}: raise train.epochs, or move {state.dir} away to start over")
    state.truncate_history(resume.epoch)
    state.truncate_steps(resume.epoch * steps_per_epoch + resume.step)
    return gan, checkpoints, resume


def _fit_epochs(gan, batches, resume, epochs: int, callbacks: list, checkpoints, state) -> None:
    """One fit() per epoch from the resume point (an execution never spans two epochs)."""
    from facegan.callbacks import NonFiniteLoss

    try:
        for epoch in range(resume.epoch, epochs):
            skip = resume.steps_done_before(epoch)
            gan.fit(batches.epoch(epoch, skip), initial_epoch=epoch, epochs=epoch + 1, callbacks=callbacks,
                    verbose=0, shuffle=False)
    except NonFiniteLoss as exc:
        raise NonFiniteLoss(f"{exc}. Training stopped; the last good checkpoint (epoch {checkpoints.position[0]}) "
                            f"is kept in {state.ckpt_dir}. Try a lower train.learning_rate or "
                            f"train.mixed_precision: false.") from None


def _conditions(opts: TrainOptions, attributes, stats: dict, shard_files: list[str]):
    """(conditioning, each image's conditions, the shard files' image counts) of a conditioned run, else Nones."""
    if not opts.model.conditions:
        return None, None, None
    from facegan.conditioning import load_conditioning

    if not attributes:
        raise FaceganError("model.conditions is set but the train step was given no attribute files (the train "
                           "rule takes results/data/attributes.tsv and attributes.json as 'attributes' and "
                           "'attribute_spec')")
    conditioning, labels = load_conditioning(opts.model.conditions, attributes=attributes[0],
                                             attribute_spec=attributes[1])
    sizes = {Path(s["file"]).name: int(s["images"]) for s in stats["shards"]}
    shard_sizes = [sizes[Path(f).name] for f in shard_files]
    if sum(shard_sizes) != len(labels):
        raise FaceganError(f"{attributes[0]} lists {len(labels)} images but the shards hold {sum(shard_sizes)}: "
                           "rerun the data stage (snakemake data)")
    log.info("conditioned on %s: %d combinations in the data", conditioning.options(), len(conditioning.combos))
    return conditioning, labels, shard_sizes


def _fixed_inputs(opts: TrainOptions, conditioning):
    """The progress grids' generator inputs: their own noise stream, and conditions drawn from the data."""
    import tensorflow as tf

    z = tf.random.stateless_normal([64, opts.model.latent_dim], seed=[opts.data.seed, NOISE_SEED_FIXED_GRID])
    if conditioning is None:
        return z
    rng = np.random.default_rng([opts.data.seed, NOISE_SEED_FIXED_GRID])
    return [z, tf.constant(conditioning.draw(64, rng))]


def train_gan(shard_files: list[str], *, stats_path: str | Path, opts: TrainOptions, outputs: TrainOutputs,
              state_dir: str | Path = "results/train_state", resolved_config: dict | None = None,
              extra_callbacks: tuple = (), reference: str | Path | None = None,
              attributes: tuple[str, str] | None = None) -> dict:
    """Train (or resume), write ``outputs``; returns training_options.json's content.

    ``reference`` (the real reference, :mod:`facegan.reference`) is needed when ``train.swd_every_epochs``
    is set; ``attributes`` (the data stage's attributes.tsv and attributes.json) when ``model.conditions``
    is. ``extra_callbacks`` run after facegan's own (tests use them to slow training down or inject
    faults).
    """
    from facegan.devices import precision_policy, setup_devices

    setup = setup_devices(opts.run.gpus, opts.run.cpu_replicas, opts.run.threads)  # before any other TF op
    import keras
    import tensorflow as tf

    from facegan.callbacks import training_callbacks
    from facegan.reader import training_batches
    from facegan.runtime import dtype_policy
    from facegan.train_state import TrainingState

    stats, steps_per_epoch = _data_size(stats_path, opts, setup.replicas)
    conditioning, labels, shard_sizes = _conditions(opts, attributes, stats, list(shard_files))
    policy = precision_policy(opts.run.mixed_precision, kind=setup.kind)
    fingerprint = opts.fingerprint(stats["dataset_sha256"], policy)
    if conditioning is not None:
        fingerprint["conditioning"] = conditioning.to_json()
    executions = opts.run.executions(setup.kind)
    with dtype_policy(policy):
        keras.utils.set_random_seed(opts.data.seed)
        tf.config.experimental.enable_op_determinism()
        state = TrainingState(state_dir, fingerprint)
        state.prepare()
        gan, checkpoints, resume = _restore(opts, setup, policy, executions, state, steps_per_epoch, conditioning)
        callbacks = training_callbacks(state, checkpoints, resume, opts=opts, steps_per_epoch=steps_per_epoch,
                                       z_fixed=_fixed_inputs(opts, conditioning),
                                       probe=_swd_probe(opts, reference, conditioning),
                                       float32_copy=_float32_copier(opts.model, conditioning))
        batches = training_batches(shard_files, opts, device_kind=setup.kind, images=int(stats["kept"]),
                                   steps_per_epoch=steps_per_epoch, labels=labels, shard_sizes=shard_sizes)
        log.info("training %s %dpx, %d images, %d steps/epoch, global batch %d over %d replica(s), %s, %s reader, "
                 "%d step(s) per execution, epochs %d..%d", opts.model.architecture, opts.model.resolution,
                 int(stats["kept"]), steps_per_epoch, opts.data.batch_size, setup.replicas, policy, batches.kind,
                 executions, resume.epoch + 1, opts.run.epochs)
        _fit_epochs(gan, batches, resume, opts.run.epochs, callbacks + list(extra_callbacks), checkpoints, state)
        save_models(opts.model, gan.sampler, gan.discriminator, outputs=outputs, conditioning=conditioning)
    _outputs_from_state(state, outputs)
    resumed = {"epoch": resume.epoch, "step_in_epoch": resume.step} if (resume.epoch or resume.step) else None
    record = _record(opts, policy, setup, stats, steps_per_epoch, resumed, outputs, resolved_config)
    record.update(reader=batches.kind, steps_per_execution=executions,
                  conditioning=conditioning.to_json() if conditioning is not None else None)
    write_json(outputs.training_options, record)
    log.info("trained to epoch %d; models in %s%s", opts.run.epochs, Path(outputs.generator).parent,
             " (the generator is the EMA one)" if gan.generator_ema is not None else "")
    return record
