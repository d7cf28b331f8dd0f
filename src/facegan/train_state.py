"""Training state on disk: what survives reruns in ``state_dir`` (``results/train_state/``).

``state_dir`` is *not* a declared output, so Snakemake never deletes it before a rerun. It holds the
TensorFlow checkpoints (models, optimizers, epoch and step), ``fingerprint.json`` (what the
checkpoint was trained on), ``history.csv``, the per-epoch grids and the TensorBoard logs. A state
whose fingerprint differs from the run's is never reused: it is moved aside (not deleted).
"""

from __future__ import annotations

import csv
import json
import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)

HISTORY_FIELDS = ("epoch", "d_loss", "g_loss", "seconds", "images_per_s", "steps")


class TrainingState:
    """The files under ``state_dir``."""

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
                aside = self._move_aside()
                log.warning("the checkpoint in %s was trained with different settings (%s); it is NOT reused. "
                            "Moved it to %s and starting fresh.", self.dir, ", ".join(differs), aside)
        elif self.dir.exists() and any(self.dir.iterdir()):
            aside = self._move_aside()
            log.warning("%s has no fingerprint.json; moved to %s and starting fresh", self.dir, aside)
        for d in (self.ckpt_dir, self.progress_dir):
            d.mkdir(parents=True, exist_ok=True)
        fp_path.write_text(json.dumps(self.fingerprint, indent=2) + "\n")

    def _move_aside(self) -> Path:
        aside = self.dir.with_name(f"{self.dir.name}.stale-{time.strftime('%Y%m%d-%H%M%S')}")
        self.dir.rename(aside)
        return aside

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


class Checkpoints:
    """The models and optimizers with the training position (epoch, step in epoch), saved and restored.

    Create it inside the distribution strategy's scope (its position counters are variables).
    """

    def __init__(self, directory: str | Path, max_to_keep: int = 2, **objects):
        import tensorflow as tf

        self.epoch = tf.Variable(0, dtype=tf.int64)
        self.step_in_epoch = tf.Variable(0, dtype=tf.int64)
        self.checkpoint = tf.train.Checkpoint(**objects, epoch=self.epoch, step_in_epoch=self.step_in_epoch)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(directory), max_to_keep=max_to_keep)

    def restore_latest(self) -> str | None:
        """Restore the newest checkpoint, if any; returns its path."""
        latest = self.manager.latest_checkpoint
        if latest:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
        return latest

    @property
    def position(self) -> tuple[int, int]:
        """(epochs finished, steps finished in the next epoch)."""
        return int(self.epoch.numpy()), int(self.step_in_epoch.numpy())

    def save(self, epoch: int, step_in_epoch: int, number: int) -> None:
        self.epoch.assign(epoch)
        self.step_in_epoch.assign(step_in_epoch)
        self.manager.save(checkpoint_number=number)
