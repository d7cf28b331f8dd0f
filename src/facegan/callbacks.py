"""The callbacks ``fit()`` runs during training: per-execution checks, checkpoints and step logs; per-epoch records.

Module-level classes (tests use them directly). Keras calls ``on_train_batch_end`` once per execution
of ``steps_per_execution`` steps, and the step itself records a non-finite loss and its step values
(:class:`facegan.gan.GAN`), so the host reads the device only at these boundaries:

* :class:`StepGuard` stops on a non-finite loss (naming the step it happened at) before anything
  is saved, and checkpoints every ``checkpoint_every_steps`` steps (at the first boundary after each
  multiple);
* :class:`StepLog` writes the step's losses and mean D(x), D(G(z)) every ``log_every_steps`` steps
  (``steps.csv`` and TensorBoard);
* :class:`EpochEnd` writes the history row, the progress grid, the SWD and generator snapshots when
  due, then the epoch's checkpoint.

A run resumed mid-epoch (:class:`ResumePoint`) counts its steps from where it stopped.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import keras

from facegan.errors import FaceganError
from facegan.files import atomic_output
from facegan.images import grid, save_png, to_uint8, upscale
from facegan.train_state import Checkpoints, TrainingState

log = logging.getLogger(__name__)

PROGRESS_GRID = (8, 8)


class NonFiniteLoss(FaceganError):
    pass


@dataclass(frozen=True)
class ResumePoint:
    """Where this run started: ``step`` steps into ``epoch`` (0-based) were trained before it."""

    epoch: int
    step: int

    def steps_done_before(self, epoch: int) -> int:
        return self.step if epoch == self.epoch else 0


def _steps_done(logs: dict) -> int:
    """Steps trained since the start of training, after the execution that produced ``logs``."""
    return int(logs["step"])


class StepGuard(keras.callbacks.Callback):
    """Stops on a non-finite loss; checkpoints every ``every`` steps (0 = never) inside an epoch."""

    def __init__(self, checkpoints: Checkpoints, resume: ResumePoint, steps_per_epoch: int, every: int):
        super().__init__()
        self.checkpoints, self.resume, self.steps_per_epoch, self.every = checkpoints, resume, steps_per_epoch, every

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.done = self.resume.steps_done_before(epoch)

    def on_train_batch_end(self, batch, logs=None):
        bad = int(logs["nonfinite_step"])
        if bad >= 0:
            d, g = float(logs["step_d_loss"]), float(logs["step_g_loss"])
            epoch, step = divmod(bad, self.steps_per_epoch)
            raise NonFiniteLoss(f"non-finite loss (d_loss {d}, g_loss {g}) in epoch {epoch + 1}, step {step + 1}")
        step = _steps_done(logs) - self.epoch * self.steps_per_epoch
        if self.every and step < self.steps_per_epoch and step // self.every > self.done // self.every:
            self.checkpoints.save(self.epoch, step)
            log.info("checkpoint at epoch %d step %d", self.epoch + 1, step)
        self.done = step


class StepLog(keras.callbacks.Callback):
    """The step's losses and mean D(x), D(G(z)) every ``every`` steps (at the first boundary after each multiple)."""

    def __init__(self, state: TrainingState, steps_per_epoch: int, every: int, writer=None):
        super().__init__()
        self.state, self.steps_per_epoch, self.every, self.writer = state, steps_per_epoch, every, writer
        self.last = None

    def on_train_batch_end(self, batch, logs=None):
        step = _steps_done(logs)
        if self.last is None:
            self.last = step - 1
        if step // self.every > self.last // self.every:
            values = {k: float(logs[k]) for k in ("step_d_loss", "step_g_loss", "d_x", "d_g_z")}
            self.state.append_steps({"step": step, "epoch": f"{step / self.steps_per_epoch:.3f}",
                                     **{k: f"{v:.6f}" for k, v in values.items()}})
            if self.writer is not None:
                import tensorflow as tf

                with self.writer.as_default(step=step):
                    for k, v in values.items():
                        tf.summary.scalar(k, v)
        self.last = step

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.flush()


@dataclass(frozen=True, kw_only=True)
class EpochPlan:
    """What an epoch end records and when: the run's length, and every how many epochs the SWD probe and
    the generator snapshots run (0: never; the SWD also runs at the last epoch)."""

    steps_per_epoch: int
    batch_size: int
    epochs: int
    swd_every: int = 0
    snapshot_every: int = 0


class EpochEnd(keras.callbacks.Callback):
    """History row, progress grid and (every ``plan.swd_every`` epochs and at the last) the SWD row, then
    the checkpoint (in that order: see ``TrainingState.truncate_history``). Pictures and SWD come from the
    GAN's ``sampler`` (the EMA generator when there is one)."""

    def __init__(self, state: TrainingState, checkpoints: Checkpoints, resume: ResumePoint, plan: EpochPlan, *,
                 z_fixed, probe=None, float32_copy=None):
        super().__init__()
        self.state, self.checkpoints, self.resume, self.plan = state, checkpoints, resume, plan
        self.z_fixed, self.probe, self.float32_copy = z_fixed, probe, float32_copy

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.t0
        steps = self.plan.steps_per_epoch - self.resume.steps_done_before(epoch)
        d, g = float(logs["d_loss"]), float(logs["g_loss"])  # finite: StepGuard checked every batch
        images = to_uint8(self.model.sampler(self.z_fixed, training=False))
        save_png(upscale(grid(images, *PROGRESS_GRID), 384), self.state.progress_dir / f"epoch_{epoch + 1:04d}.png")
        rate = steps * self.plan.batch_size / seconds
        self.state.append_history({"epoch": epoch + 1, "d_loss": f"{d:.6f}", "g_loss": f"{g:.6f}",
                                   "seconds": f"{seconds:.3f}", "images_per_s": f"{rate:.2f}", "steps": steps})
        log.info("epoch %d/%d: d_loss %.4f g_loss %.4f, %.1f s, %.1f images/s", epoch + 1, self.plan.epochs, d, g,
                 seconds, rate)
        if self.probe is not None and ((epoch + 1) % self.plan.swd_every == 0 or epoch + 1 == self.plan.epochs):
            self.measure_swd(epoch + 1)
        if self.plan.snapshot_every and (epoch + 1) % self.plan.snapshot_every == 0:
            path = self.state.snapshot_path(epoch + 1)
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_output(path) as tmp:
                self.float32_copy(self.model.sampler).save(tmp)
            log.info("generator snapshot %s", path)
        self.checkpoints.save(epoch + 1, 0)

    def measure_swd(self, epoch: int) -> None:
        t0 = time.perf_counter()
        swd = self.probe.measure(self.model.sampler)
        seconds = time.perf_counter() - t0
        levels = " ".join(f"{k.split('_')[1]}:{v:.3f}" for k, v in swd.items() if k.startswith("SWDx1e3_")
                          and k != "SWDx1e3_avg")
        self.state.append_swd({"epoch": epoch, "images_seen": epoch * self.plan.steps_per_epoch * self.plan.batch_size,
                               "SWDx1e3_avg": f"{swd['SWDx1e3_avg']:.4f}", "swd_vs_floor": f"{swd['swd_vs_floor']:.4f}",
                               "levels": levels, "seconds": f"{seconds:.2f}"})
        log.info("epoch %d: SWD avg x1e3 %.2f = %.2fx the real-data floor (measured in %.1f s)", epoch,
                 swd["SWDx1e3_avg"], swd["swd_vs_floor"], seconds)


def training_callbacks(state: TrainingState, checkpoints: Checkpoints, resume: ResumePoint, *, opts,
                       steps_per_epoch: int, z_fixed, probe=None, float32_copy=None) -> list:
    """The callbacks in the order they must run: the guard vets each execution before anything is saved.
    ``opts`` is the run's :class:`facegan.options.TrainOptions`."""
    import tensorflow as tf

    run = opts.run
    tensorboard = keras.callbacks.TensorBoard(log_dir=str(state.tensorboard_dir), write_graph=False,
                                              update_freq="epoch", profile_batch=0)
    callbacks = [StepGuard(checkpoints, resume, steps_per_epoch, run.checkpoint_every_steps)]
    if run.log_every_steps:
        writer = tf.summary.create_file_writer(str(state.tensorboard_dir / "steps"))
        callbacks.append(StepLog(state, steps_per_epoch, run.log_every_steps, writer))
    plan = EpochPlan(steps_per_epoch=steps_per_epoch, batch_size=opts.data.batch_size, epochs=run.epochs,
                     swd_every=run.swd_every_epochs, snapshot_every=run.snapshot_every_epochs)
    callbacks.append(EpochEnd(state, checkpoints, resume, plan, z_fixed=z_fixed, probe=probe,
                              float32_copy=float32_copy))
    return callbacks + [tensorboard]
