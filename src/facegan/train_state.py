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
import shutil
import time
from pathlib import Path

from facegan.errors import FaceganError
from facegan.files import atomic_output, open_append, remove_parts, write_json

log = logging.getLogger(__name__)

HISTORY_FIELDS = ("epoch", "d_loss", "g_loss", "seconds", "images_per_s", "steps")
SWD_FIELDS = ("epoch", "images_seen", "SWDx1e3_avg", "swd_vs_floor", "levels", "seconds")
STEP_FIELDS = ("step", "epoch", "step_d_loss", "step_g_loss", "d_x", "d_g_z")


class TrainingState:
    """The files under ``state_dir``."""

    def __init__(self, state_dir: str | Path, fingerprint: dict):
        self.dir = Path(state_dir)
        self.fingerprint = fingerprint
        self.ckpt_dir = self.dir / "checkpoints"
        self.history_path = self.dir / "history.csv"
        self.swd_path = self.dir / "swd.csv"
        self.steps_path = self.dir / "steps.csv"
        self.snapshot_dir = self.dir / "snapshots"
        self.progress_dir = self.dir / "progress"
        self.tensorboard_dir = self.dir / "tensorboard"

    def prepare(self) -> None:
        """Move aside a state made with a different fingerprint; then make the folders.

        The fingerprint is kept twice, ``fingerprint.json`` and a copy in ``checkpoints/``, each written
        atomically and only when it changes. An unreadable one beside checkpoints is rebuilt from the copy;
        when both are unreadable the run stops (the checkpoints are never thrown away on a guess).
        """
        old = self._read_fingerprint()
        if old is not None:
            if old != self.fingerprint:
                differs = sorted(k for k in set(old) | set(self.fingerprint) if old.get(k) != self.fingerprint.get(k))
                aside = self._move_aside()
                log.warning("the checkpoint in %s was trained with different settings (%s); it is NOT reused. "
                            "Moved it to %s and starting fresh.", self.dir, ", ".join(differs), aside)
        elif self.dir.exists() and any(self.dir.iterdir()):
            aside = self._move_aside()
            log.warning("%s has no fingerprint.json and no checkpoints; moved to %s and starting fresh",
                        self.dir, aside)
        for d in (self.ckpt_dir, self.progress_dir):
            d.mkdir(parents=True, exist_ok=True)
        for path in (self.fingerprint_path, self.fingerprint_copy):
            if _read_json_object(path) != self.fingerprint:
                write_json(path, self.fingerprint)

    @property
    def fingerprint_path(self) -> Path:
        return self.dir / "fingerprint.json"

    @property
    def fingerprint_copy(self) -> Path:
        return self.ckpt_dir / "fingerprint.json"

    def _read_fingerprint(self) -> dict | None:
        """The fingerprint the state was trained with; None for a state with neither copy nor checkpoints."""
        main, copy = self.fingerprint_path, self.fingerprint_copy
        found = _read_json_object(main)
        if found is None:
            found = _read_json_object(copy)
            if found is not None and main.exists():
                log.warning("%s is unreadable; using its copy %s", main, copy)
        has_checkpoints = any(self.ckpt_dir.glob("ckpt-*.index")) if self.ckpt_dir.is_dir() else False
        if found is None and has_checkpoints:
            raise FaceganError(
                f"{main} is unreadable or missing beside the checkpoints in {self.ckpt_dir}, and so is its copy: "
                f"the settings they were trained with are unknown. Restore {main.name} from a backup, or move "
                f"{self.dir} away to start training over (nothing was deleted)")
        if found is None and (main.exists() or copy.exists()):
            aside = self._move_aside()
            log.warning("%s is unreadable and there are no checkpoints; moved the state to %s and starting fresh",
                        main, aside)
        return found

    def _move_aside(self) -> Path:
        """Rename the state folder to ``<name>.stale-<time>`` (never deleted)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.dir.with_name(f"{self.dir.name}.stale-{stamp}")
        k = 1
        while aside.exists():
            k += 1
            aside = self.dir.with_name(f"{self.dir.name}.stale-{stamp}-{k}")
        self.dir.rename(aside)
        return aside

    def read_history(self) -> list[dict]:
        """The rows of history.csv; unreadable rows are dropped with a warning (the checkpoints are what count)."""
        return _read_rows(self.history_path, HISTORY_FIELDS)

    def read_swd(self) -> list[dict]:
        return _read_rows(self.swd_path, SWD_FIELDS)

    def append_swd(self, row: dict) -> None:
        _write_rows(self.swd_path, SWD_FIELDS, self.read_swd() + [row])

    def rewrite_swd(self) -> None:
        _write_rows(self.swd_path, SWD_FIELDS, self.read_swd())

    def append_steps(self, row: dict) -> None:
        """One per-step row, appended (a long run logs thousands; a torn last line is dropped on resume)."""
        new = not self.steps_path.exists()
        with open_append(self.steps_path, newline="") as f:
            w = csv.DictWriter(f, fieldnames=STEP_FIELDS, lineterminator="\n")
            if new:
                w.writeheader()
            w.writerow(row)

    def truncate_steps(self, last_step: int) -> None:
        """Keep the per-step rows up to ``last_step`` (the checkpoint's), rewriting the file whole."""
        rows = [r for r in _read_rows(self.steps_path, STEP_FIELDS, key="step") if int(r["step"]) <= last_step]
        _write_rows(self.steps_path, STEP_FIELDS, rows)

    def snapshot_path(self, epoch: int) -> Path:
        return self.snapshot_dir / f"generator-epoch{epoch:04d}.keras"

    def remove_orphans(self) -> None:
        """Delete temporary files a killed job left (``*.part``)."""
        for directory in (self.dir, self.progress_dir, self.snapshot_dir):
            remove_parts(directory)

    def truncate_history(self, last_epoch: int) -> None:
        """Drop rows after ``last_epoch`` (written before a kill that preceded their checkpoint)."""
        self._write_history([r for r in self.read_history() if int(r["epoch"]) <= last_epoch])
        _write_rows(self.swd_path, SWD_FIELDS, [r for r in self.read_swd() if int(r["epoch"]) <= last_epoch])
        for png in self.progress_dir.glob("epoch_*.png"):
            if int(png.stem.split("_")[1]) > last_epoch:
                png.unlink()
        for snapshot in self.snapshot_dir.glob("generator-epoch*.keras"):
            if int(snapshot.stem.split("epoch")[1]) > last_epoch:
                snapshot.unlink()

    def append_history(self, row: dict) -> None:
        self._write_history(self.read_history() + [row])

    def _write_history(self, rows: list[dict]) -> None:
        _write_rows(self.history_path, HISTORY_FIELDS, rows)


def _read_json_object(path: Path) -> dict | None:
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _read_rows(path: Path, fields: tuple[str, ...], key: str = "epoch") -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="", errors="replace") as f:
        rows = list(csv.DictReader(f))
    good = [r for r in rows if set(fields) <= set(r) and all(r[k] not in (None, "") for k in fields)
            and str(r[key]).isdigit()]
    if len(good) < len(rows):
        log.warning("%s: dropped %d unreadable row(s)", path, len(rows) - len(good))
    return good


def _write_rows(path: Path, fields: tuple[str, ...], rows: list[dict]) -> None:
    """Write a CSV atomically (a kill never leaves half a file)."""
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


class Checkpoints:
    """The models and optimizers with the training position (epoch, step in epoch), saved and restored.

    Checkpoint ``ckpt-N`` holds the state after N steps. Resuming tries the newest checkpoint first and
    falls back to older ones when a file is unreadable (truncated, corrupt, missing), saying which it
    skipped; when none restores, it stops with an error and deletes nothing. Kept: the newest
    :attr:`KEEP_NEWEST` checkpoints and the epoch-end ones of the last :attr:`KEEP_EPOCH_ENDS` epochs, so
    one corrupt file costs at most the steps since the checkpoint before it. TensorFlow's
    ``checkpoint`` index file is not used (a corrupt one used to hide every checkpoint).

    Create it inside the distribution strategy's scope (its position counters are variables).
    """

    KEEP_NEWEST = 3
    KEEP_EPOCH_ENDS = 3
    PREFIX = "ckpt-"

    def __init__(self, directory: str | Path, steps_per_epoch: int, **objects):
        import tensorflow as tf

        self.dir = Path(directory)
        self.steps_per_epoch = steps_per_epoch
        self.epoch = tf.Variable(0, dtype=tf.int64)
        self.step_in_epoch = tf.Variable(0, dtype=tf.int64)
        self.checkpoint = tf.train.Checkpoint(**objects, epoch=self.epoch, step_in_epoch=self.step_in_epoch)
        # Created now (tf.train.Checkpoint makes it lazily on restore), so every checkpoint written holds it
        # and restores match all objects, also those written before by tf.train.CheckpointManager.
        _ = self.checkpoint.save_counter

    def numbers(self) -> list[int]:
        """Numbers of the complete checkpoints on disk (those with an index file), oldest first."""
        found = []
        for index in self.dir.glob(f"{self.PREFIX}*.index"):
            number = index.name[len(self.PREFIX):-len(".index")]
            if number.isdigit():
                found.append(int(number))
        return sorted(found)

    def path(self, number: int) -> Path:
        return self.dir / f"{self.PREFIX}{number}"

    def files(self, number: int) -> list[Path]:
        prefix = self.path(number)
        return sorted(prefix.parent.glob(prefix.name + ".*"))

    def remove_orphans(self) -> list[str]:
        """Delete what killed saves left behind: ``ckpt-N_temp/`` folders and data files without an index."""
        removed = []
        for temp in self.dir.glob(f"{self.PREFIX}*_temp"):
            shutil.rmtree(temp, ignore_errors=True)
            removed.append(temp.name)
        complete = {self.path(n).name for n in self.numbers()}
        for data in self.dir.glob(f"{self.PREFIX}*.data-*"):
            if data.name.split(".data-")[0] not in complete:
                data.unlink()
                removed.append(data.name)
        if removed:
            log.info("removed the remains of an interrupted checkpoint save: %s", ", ".join(sorted(removed)))
        return removed

    def restore_latest(self) -> str | None:
        """Restore the newest checkpoint that restores; returns its path (None when there is none)."""
        skipped = []
        for number in reversed(self.numbers()):
            path = str(self.path(number))
            try:
                self.checkpoint.restore(path).assert_existing_objects_matched()
            except Exception as exc:  # noqa: BLE001 - any failure here means this checkpoint's files are damaged
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
                skipped.append(f"{Path(path).name} ({type(exc).__name__}: {reason})")
                continue
            if skipped:
                log.warning("skipped %d unreadable checkpoint(s) in %s: %s; resumed from the older %s instead",
                            len(skipped), self.dir, "; ".join(skipped), Path(path).name)
            return path
        if skipped:
            raise FaceganError(f"no checkpoint in {self.dir} can be restored: {'; '.join(skipped)}. Nothing was "
                               f"deleted. Restore the files from a backup, or move {self.dir.parent} away to start "
                               f"training over")
        return None

    @property
    def position(self) -> tuple[int, int]:
        """(epochs finished, steps finished in the next epoch)."""
        return int(self.epoch.numpy()), int(self.step_in_epoch.numpy())

    def save(self, epoch: int, step_in_epoch: int) -> Path:
        """Write ``ckpt-N`` for the state after ``epoch`` epochs and ``step_in_epoch`` more steps, then prune."""
        self.epoch.assign(epoch)
        self.step_in_epoch.assign(step_in_epoch)
        number = epoch * self.steps_per_epoch + step_in_epoch
        self.checkpoint.write(str(self.path(number)))
        self.prune()
        return self.path(number)

    def prune(self) -> None:
        numbers = self.numbers()
        epoch_ends = [n for n in numbers if n % self.steps_per_epoch == 0]
        keep = set(numbers[-self.KEEP_NEWEST:]) | set(epoch_ends[-self.KEEP_EPOCH_ENDS:])
        for number in numbers:
            if number not in keep:
                for f in self.files(number):
                    f.unlink(missing_ok=True)
