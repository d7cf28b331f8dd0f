"""The ``train`` step: build, resume, fit, checkpoint, export.

Training state lives in ``state_dir`` (``results/train_state/``), which is *not* a declared output,
so Snakemake never deletes it before a rerun. It holds the TensorFlow checkpoints (models,
optimizers, epoch and step), ``fingerprint.json`` (what the checkpoint was trained on),
``history.csv`` and the per-epoch grids; the declared outputs under ``results/train/`` are copied
from it at the end. So:

* a killed job (SIGKILL, SLURM time limit, preemption) resumes from its last checkpoint - epoch
  ends always, and every ``checkpoint_every_steps`` steps when set - the next time the rule runs;
* raising ``train.epochs`` continues from the last epoch;
* a checkpoint whose fingerprint (model, data checksum, seed, batch, optimiser settings) differs is
  never reused: it is moved aside (not deleted) and training starts fresh, with a warning saying
  which settings differ;
* a non-finite loss stops training with an error and leaves the last good checkpoint in place.

Resumed runs end with the same weights as uninterrupted ones: the data order of each epoch depends
only on ``(seed, epoch)`` (:mod:`facegan.reader`), the noise only on ``(seed, step)``
(:mod:`facegan.gan`), and a mid-epoch resume skips the batches already trained on.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from facegan.errors import FaceganError

log = logging.getLogger(__name__)

HISTORY_FIELDS = ("epoch", "d_loss", "g_loss", "seconds", "images_per_s", "steps")
PROGRESS_GRID = (8, 8)
DEFAULT_LR = {"dcgan": 2e-4, "seed": 1e-4}


@dataclass(frozen=True)
class TrainOptions:
    architecture: str = "dcgan"
    latent_dim: int = 100
    width: int = 64
    resolution: int = 64
    seed: int = 0
    epochs: int = 25
    batch_size: int = 128
    gpus: int = 0
    cpu_replicas: int = 1
    mixed_precision: bool | str = "auto"
    learning_rate: float | None = None
    beta_1: float = 0.5
    label_smoothing: float = 0.0
    shuffle_buffer: int = 10_000
    checkpoint_every_steps: int = 0
    threads: int | None = None

    @property
    def lr(self) -> float:
        return self.learning_rate if self.learning_rate is not None else DEFAULT_LR[self.architecture]

    def fingerprint(self, dataset_sha256: str, policy: str) -> dict:
        """What a checkpoint must agree on to be resumed (not epochs, devices or threads; the resolved
        precision policy, since a float16 checkpoint carries loss-scale state a float32 one lacks)."""
        return {"architecture": self.architecture, "latent_dim": self.latent_dim, "width": self.width,
                "resolution": self.resolution, "seed": self.seed, "batch_size": self.batch_size,
                "learning_rate": self.lr, "beta_1": self.beta_1, "label_smoothing": self.label_smoothing,
                "precision_policy": policy, "shuffle_buffer": self.shuffle_buffer,
                "dataset_sha256": dataset_sha256}


class NonFiniteLoss(FaceganError):
    pass


# ---------------------------------------------------------------------------------------------
# Training state on disk


class TrainingState:
    """The files under ``state_dir`` that survive reruns."""

    def __init__(self, state_dir: str | Path, fingerprint: dict):
        self.dir = Path(state_dir)
        self.fingerprint = fingerprint
        self.ckpt_dir = self.dir / "checkpoints"
        self.history_path = self.dir / "history.csv"
        self.progress_dir = self.dir / "progress"
        self.tensorboard_dir = self.dir / "tensorboard"

    def prepare(self) -> None:
        """Move aside a state made with a different fingerprint; then make the folders."""
        fp_path = self.dir / "fingerprint.json"
        if fp_path.exists():
            old = json.loads(fp_path.read_text())
            if old != self.fingerprint:
                differs = sorted(k for k in set(old) | set(self.fingerprint) if old.get(k) != self.fingerprint.get(k))
                aside = self.dir.with_name(f"{self.dir.name}.stale-{time.strftime('%Y%m%d-%H%M%S')}")
                log.warning("the checkpoint in %s was trained with different settings (%s); it is NOT reused. "
                            "Moved it to %s and starting fresh.", self.dir, ", ".join(differs), aside)
                self.dir.rename(aside)
        elif self.dir.exists() and any(self.dir.iterdir()):
            aside = self.dir.with_name(f"{self.dir.name}.stale-{time.strftime('%Y%m%d-%H%M%S')}")
            log.warning("%s has no fingerprint.json; moved to %s and starting fresh", self.dir, aside)
            self.dir.rename(aside)
        for d in (self.ckpt_dir, self.progress_dir):
            d.mkdir(parents=True, exist_ok=True)
        fp_path.write_text(json.dumps(self.fingerprint, indent=2) + "\n")

    def read_history(self) -> list[dict]:
        if not self.history_path.exists():
            return []
        with open(self.history_path, newline="") as f:
            return list(csv.DictReader(f))

    def truncate_history(self, last_epoch: int) -> None:
        """Drop rows after ``last_epoch`` (written before a kill that preceded their checkpoint)."""
        rows = [r for r in self.read_history() if int(r["epoch"]) <= last_epoch]
        self._write_history(rows)
        for png in self.progress_dir.glob("epoch_*.png"):
            if int(png.stem.split("_")[1]) > last_epoch:
                png.unlink()

    def append_history(self, row: dict) -> None:
        self._write_history(self.read_history() + [row])

    def _write_history(self, rows: list[dict]) -> None:
        tmp = self.history_path.with_name("history.csv.part")
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=HISTORY_FIELDS, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
        tmp.replace(self.history_path)


# ---------------------------------------------------------------------------------------------
# Callbacks


def _callbacks(keras, gan, state: TrainingState, ckpt, manager, opts: TrainOptions, steps_per_epoch: int,
               first_epoch: int, first_step: int, z_fixed):
    from facegan.images import grid, save_png, to_uint8, upscale

    def steps_done_before(epoch: int) -> int:
        """Steps of ``epoch`` trained before this run (a mid-epoch resume skips them)."""
        return first_step if epoch == first_epoch else 0

    class EpochEnd(keras.callbacks.Callback):
        """History row and progress grid, then the checkpoint (in that order: see truncate_history)."""

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.t0
            steps = steps_per_epoch - steps_done_before(epoch)
            d, g = float(logs["d_loss"]), float(logs["g_loss"])  # finite: StepGuard checked every batch
            images = to_uint8(gan.generator(z_fixed, training=False))
            sheet = upscale(grid(images, *PROGRESS_GRID), 384)
            save_png(sheet, state.progress_dir / f"epoch_{epoch + 1:04d}.png")
            state.append_history({"epoch": epoch + 1, "d_loss": f"{d:.6f}", "g_loss": f"{g:.6f}",
                                  "seconds": f"{seconds:.3f}",
                                  "images_per_s": f"{steps * opts.batch_size / seconds:.2f}", "steps": steps})
            ckpt.epoch.assign(epoch + 1)
            ckpt.step_in_epoch.assign(0)
            manager.save(checkpoint_number=(epoch + 1) * steps_per_epoch)
            log.info("epoch %d/%d: d_loss %.4f g_loss %.4f, %.1f s, %.1f images/s", epoch + 1, opts.epochs, d, g,
                     seconds, steps * opts.batch_size / seconds)

    class StepGuard(keras.callbacks.Callback):
        """Stops on a non-finite loss at once; checkpoints every N steps when asked."""

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            self.offset = steps_done_before(epoch)

        def on_train_batch_end(self, batch, logs=None):
            d, g = float(logs["d_loss"]), float(logs["g_loss"])
            if not (math.isfinite(d) and math.isfinite(g)):
                raise NonFiniteLoss(f"non-finite loss (d_loss {d}, g_loss {g}) in epoch {self.epoch + 1}, "
                                    f"step {self.offset + batch + 1}")
            step = self.offset + batch + 1
            n = opts.checkpoint_every_steps
            if n and step % n == 0 and step < steps_per_epoch:
                ckpt.epoch.assign(self.epoch)
                ckpt.step_in_epoch.assign(step)
                manager.save(checkpoint_number=self.epoch * steps_per_epoch + step)
                log.info("checkpoint at epoch %d step %d", self.epoch + 1, step)

    epoch_end, guard = EpochEnd(), StepGuard()
    tensorboard = keras.callbacks.TensorBoard(log_dir=str(state.tensorboard_dir), write_graph=False,
                                              update_freq="epoch", profile_batch=0)
    return [guard, epoch_end, tensorboard]  # guard first: it vets each batch before anything is saved


# ---------------------------------------------------------------------------------------------


def _versions() -> dict:
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "platform": platform.platform()}


def export_models(opts: TrainOptions, generator, discriminator, out_dir: Path) -> dict[str, Path]:
    """Save float32, non-synchronised copies (portable whatever precision and devices trained them)."""
    import keras

    from facegan.models import build_models

    keras.mixed_precision.set_global_policy("float32")
    g32, d32 = build_models(opts.architecture, opts.resolution, opts.latent_dim, opts.width)
    g32.set_weights([np.asarray(w, dtype=np.float32) for w in generator.get_weights()])
    d32.set_weights([np.asarray(w, dtype=np.float32) for w in discriminator.get_weights()])
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"generator_keras": out_dir / "generator.keras", "generator_h5": out_dir / "generator.h5",
             "discriminator_keras": out_dir / "discriminator.keras"}
    g32.save(paths["generator_keras"])
    g32.save(paths["generator_h5"])
    d32.save(paths["discriminator_keras"])
    return paths


def build_gan(opts: TrainOptions, setup, policy: str, batchnorm: str | None = None):
    """The compiled GAN exactly as ``train`` uses it (call inside ``setup.strategy.scope()``).

    ``batchnorm`` (benchmarks only): by default fused BatchNorm (one op per pass, the same results,
    less work: BENCHMARKS.md), except across replicas, which need synchronised statistics.
    """
    from facegan.gan import GAN, make_optimizer
    from facegan.models import build_models

    batchnorm = batchnorm or ("synchronized" if setup.replicas > 1 else "fused")
    generator, discriminator = build_models(opts.architecture, opts.resolution, opts.latent_dim, opts.width,
                                            batchnorm=batchnorm)
    d_opt = make_optimizer(opts.lr, opts.beta_1, policy)
    g_opt = make_optimizer(opts.lr, opts.beta_1, policy)
    # Build the optimizers' slots inside the scope before the first traced step (under
    # MirroredStrategy, lazily created slots fail with "You must feed a value for placeholder").
    d_opt.build(discriminator.trainable_variables)
    g_opt.build(generator.trainable_variables)
    gan = GAN(generator, discriminator, opts.latent_dim, seed=opts.seed, label_smoothing=opts.label_smoothing)
    # XLA is slower on CPU and fails across logical CPU devices; Keras's "auto" is right on GPU.
    gan.compile(d_optimizer=d_opt, g_optimizer=g_opt, jit_compile=False if setup.kind == "cpu" else "auto")
    return gan


def train(shard_files: list[str], stats_path: str | Path, opts: TrainOptions, out_dir: str | Path = "results/train",
          state_dir: str | Path = "results/train_state", resolved_config: dict | None = None) -> dict:
    """Train (or resume) and write the outputs under ``out_dir``; returns training_options.json's content."""
    from facegan.devices import precision_policy, setup_devices

    setup = setup_devices(opts.gpus, opts.cpu_replicas, opts.threads)  # before any other TF op
    import keras
    import tensorflow as tf

    from facegan.reader import make_dataset

    out_dir = Path(out_dir)
    stats = json.loads(Path(stats_path).read_text())
    if stats.get("resolution") != opts.resolution:
        raise FaceganError(f"{stats_path} says the shards are {stats.get('resolution')}px but training expects "
                           f"{opts.resolution}px; rerun the data stage")
    images = int(stats["kept"])
    steps_per_epoch = images // opts.batch_size
    if steps_per_epoch < 1:
        raise FaceganError(f"train.batch_size {opts.batch_size} is larger than the data set ({images} images)")
    if opts.batch_size % setup.replicas:
        raise FaceganError(f"train.batch_size {opts.batch_size} is not divisible by the {setup.replicas} replicas")

    policy = precision_policy(opts.mixed_precision, setup.kind)
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(opts.seed)
    tf.config.experimental.enable_op_determinism()

    state = TrainingState(state_dir, opts.fingerprint(stats["dataset_sha256"], policy))
    state.prepare()
    with setup.strategy.scope():
        gan = build_gan(opts, setup, policy)
        generator, discriminator, d_opt, g_opt = gan.generator, gan.discriminator, gan.d_optimizer, gan.g_optimizer
        ckpt = tf.train.Checkpoint(generator=generator, discriminator=discriminator, d_optimizer=d_opt,
                                   g_optimizer=g_opt, epoch=tf.Variable(0, dtype=tf.int64),
                                   step_in_epoch=tf.Variable(0, dtype=tf.int64))
        manager = tf.train.CheckpointManager(ckpt, str(state.ckpt_dir), max_to_keep=2)
        if manager.latest_checkpoint:
            ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
            log.info("resumed from %s", manager.latest_checkpoint)
    first_epoch, first_step = int(ckpt.epoch.numpy()), int(ckpt.step_in_epoch.numpy())
    resumed = {"epoch": first_epoch, "step_in_epoch": first_step} if (first_epoch or first_step) else None
    if first_epoch > opts.epochs or (first_epoch == opts.epochs and first_step):
        raise FaceganError(f"the checkpoint in {state.dir} is at epoch {first_epoch} but train.epochs is "
                           f"{opts.epochs}: raise train.epochs, or move {state.dir} away to start over")
    state.truncate_history(first_epoch)

    z_fixed = tf.random.stateless_normal([PROGRESS_GRID[0] * PROGRESS_GRID[1], opts.latent_dim],
                                         seed=[opts.seed, 2**31 - 1])
    callbacks = _callbacks(keras, gan, state, ckpt, manager, opts, steps_per_epoch, first_epoch, first_step, z_fixed)

    def data(first, count, skip=0):
        ds = make_dataset(shard_files, opts.resolution, opts.batch_size, opts.seed, first_epoch=first, epochs=count,
                          shuffle_buffer=opts.shuffle_buffer)
        return ds.skip(skip) if skip else ds

    log.info("training %s %dpx, %d images, %d steps/epoch, global batch %d over %d replica(s), %s, epochs %d..%d",
             opts.architecture, opts.resolution, images, steps_per_epoch, opts.batch_size, setup.replicas, policy,
             first_epoch + 1, opts.epochs)
    try:
        epoch = first_epoch
        if first_step and epoch < opts.epochs:  # finish the interrupted epoch first
            gan.fit(data(epoch, 1, skip=first_step), initial_epoch=epoch, epochs=epoch + 1,
                    steps_per_epoch=steps_per_epoch - first_step, callbacks=callbacks, verbose=2, shuffle=False)
            epoch += 1
        if epoch < opts.epochs:
            gan.fit(data(epoch, opts.epochs - epoch), initial_epoch=epoch, epochs=opts.epochs,
                    steps_per_epoch=steps_per_epoch, callbacks=callbacks, verbose=2, shuffle=False)
    except NonFiniteLoss as exc:
        raise NonFiniteLoss(f"{exc}. Training stopped; the last good checkpoint (epoch {int(ckpt.epoch.numpy())}) "
                            f"is kept in {state.ckpt_dir}. Try a lower train.learning_rate or "
                            f"train.mixed_precision: false.") from None

    paths = export_models(opts, generator, discriminator, out_dir)
    shutil.copyfile(state.history_path, out_dir / "history.csv")
    progress_out = out_dir / "progress"
    shutil.rmtree(progress_out, ignore_errors=True)
    shutil.copytree(state.progress_dir, progress_out)
    options = {
        "config": resolved_config or {},
        "train_options": asdict(opts) | {"learning_rate": opts.lr},
        "precision_policy": policy,
        "devices": setup.describe(),
        "global_batch_size": opts.batch_size,
        "per_replica_batch_size": opts.batch_size // setup.replicas,
        "steps_per_epoch": steps_per_epoch,
        "images": images,
        "dataset_sha256": stats["dataset_sha256"],
        "resumed_from": resumed,
        "versions": _versions(),
        "command": " ".join(sys.argv),
        "outputs": {k: str(v) for k, v in paths.items()},
    }
    (out_dir / "training_options.json").write_text(json.dumps(options, indent=2) + "\n")
    log.info("trained to epoch %d; models in %s", opts.epochs, out_dir)
    return options
