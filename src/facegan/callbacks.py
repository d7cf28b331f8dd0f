"""The callbacks ``fit()`` runs during training: per-step checks and checkpoints, per-epoch records.

Module-level classes (tests use them directly): :class:`StepGuard` stops on a non-finite loss at once
and checkpoints every N steps; :class:`EpochEnd` writes the history row and the progress grid, then
the checkpoint. A run resumed mid-epoch (:class:`ResumePoint`) counts its steps from where it
stopped.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import keras

from facegan.errors import FaceganError
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


class StepGuard(keras.callbacks.Callback):
    """Stops on a non-finite loss at once; checkpoints every ``every`` steps (0 = never) inside an epoch."""

    def __init__(self, checkpoints: Checkpoints, resume: ResumePoint, steps_per_epoch: int, every: int):
        super().__init__()
        self.checkpoints, self.resume, self.steps_per_epoch, self.every = checkpoints, resume, steps_per_epoch, every

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.offset = self.resume.steps_done_before(epoch)

    def on_train_batch_end(self, batch, logs=None):
        d, g = float(logs["d_loss"]), float(logs["g_loss"])
        step = self.offset + batch + 1
        if not (math.isfinite(d) and math.isfinite(g)):
            raise NonFiniteLoss(f"non-finite loss (d_loss {d}, g_loss {g}) in epoch {self.epoch + 1}, step {step}")
        if self.every and step % self.every == 0 and step < self.steps_per_epoch:
            self.checkpoints.save(self.epoch, step)
            log.info("checkpoint at epoch %d step %d", self.epoch + 1, step)


class EpochEnd(keras.callbacks.Callback):
    """History row, progress grid and (every ``swd_every`` epochs and at the last) the SWD row, then the
    checkpoint (in that order: see ``TrainingState.truncate_history``). Pictures and SWD come from the
    GAN's ``sampler`` (the EMA generator when there is one)."""

    def __init__(self, state: TrainingState, checkpoints: Checkpoints, resume: ResumePoint, steps_per_epoch: int,
                 batch_size: int, epochs: int, z_fixed, probe=None, swd_every: int = 0):
        super().__init__()
        self.state, self.checkpoints, self.resume = state, checkpoints, resume
        self.steps_per_epoch, self.batch_size, self.epochs, self.z_fixed = steps_per_epoch, batch_size, epochs, z_fixed
        self.probe, self.swd_every = probe, swd_every

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.t0
        steps = self.steps_per_epoch - self.resume.steps_done_before(epoch)
        d, g = float(logs["d_loss"]), float(logs["g_loss"])  # finite: StepGuard checked every batch
        images = to_uint8(self.model.sampler(self.z_fixed, training=False))
        save_png(upscale(grid(images, *PROGRESS_GRID), 384), self.state.progress_dir / f"epoch_{epoch + 1:04d}.png")
        rate = steps * self.batch_size / seconds
        self.state.append_history({"epoch": epoch + 1, "d_loss": f"{d:.6f}", "g_loss": f"{g:.6f}",
                                   "seconds": f"{seconds:.3f}", "images_per_s": f"{rate:.2f}", "steps": steps})
        log.info("epoch %d/%d: d_loss %.4f g_loss %.4f, %.1f s, %.1f images/s", epoch + 1, self.epochs, d, g, seconds,
                 rate)
        if self.probe is not None and ((epoch + 1) % self.swd_every == 0 or epoch + 1 == self.epochs):
            self.measure_swd(epoch + 1)
        self.checkpoints.save(epoch + 1, 0)

    def measure_swd(self, epoch: int) -> None:
        t0 = time.perf_counter()
        swd = self.probe.measure(self.model.sampler)
        seconds = time.perf_counter() - t0
        levels = " ".join(f"{k.split('_')[1]}:{v:.3f}" for k, v in swd.items() if k.startswith("SWDx1e3_")
                          and k != "SWDx1e3_avg")
        self.state.append_swd({"epoch": epoch, "images_seen": epoch * self.steps_per_epoch * self.batch_size,
                               "SWDx1e3_avg": f"{swd['SWDx1e3_avg']:.4f}", "swd_vs_floor": f"{swd['swd_vs_floor']:.4f}",
                               "levels": levels, "seconds": f"{seconds:.2f}"})
        log.info("epoch %d: SWD avg x1e3 %.2f = %.2fx the real-data floor (measured in %.1f s)", epoch,
                 swd["SWDx1e3_avg"], swd["swd_vs_floor"], seconds)


def training_callbacks(state: TrainingState, checkpoints: Checkpoints, resume: ResumePoint, steps_per_epoch: int,
                       batch_size: int, epochs: int, checkpoint_every_steps: int, z_fixed, probe=None,
                       swd_every: int = 0) -> list:
    """The callbacks in the order they must run: the guard vets each batch before anything is saved."""
    tensorboard = keras.callbacks.TensorBoard(log_dir=str(state.tensorboard_dir), write_graph=False,
                                              update_freq="epoch", profile_batch=0)
    return [StepGuard(checkpoints, resume, steps_per_epoch, checkpoint_every_steps),
            EpochEnd(state, checkpoints, resume, steps_per_epoch, batch_size, epochs, z_fixed, probe, swd_every),
            tensorboard]
