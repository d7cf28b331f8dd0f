"""The train rule's outputs, named once: the single run's ``results/train/`` and each sweep run's
``results/sweep/<run>/train/`` hold the same files, and the rules, the step and the tests all read them
from here. Light on purpose (no TensorFlow): the Snakefile imports it when it parses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# keyword -> file name in the folder
TRAIN_FILES = {
    "generator": "generator.keras",
    "generator_h5": "generator.h5",
    "discriminator": "discriminator.keras",
    "history": "history.csv",
    "progress": "progress",  # per-epoch fixed-noise grids
    "training_options": "training_options.json",
    "swd": "swd.csv",  # the SWD measured during training (train.swd_every_epochs)
    "steps": "steps.csv",  # per-step losses (train.log_every_steps)
    "snapshots": "snapshots",  # generators every train.snapshot_every_epochs epochs
}
TRAIN_DIRS = ("progress", "snapshots")


def train_output_paths(folder: str | Path) -> dict[str, str]:
    return {key: f"{folder}/{name}" for key, name in TRAIN_FILES.items()}


@dataclass(frozen=True)
class TrainOutputs:
    """Where the train rule's outputs go (see :data:`TRAIN_FILES`)."""

    generator: str | Path
    generator_h5: str | Path
    discriminator: str | Path
    history: str | Path
    progress: str | Path
    training_options: str | Path
    swd: str | Path
    steps: str | Path
    snapshots: str | Path

    @classmethod
    def in_folder(cls, folder: str | Path) -> TrainOutputs:
        return cls(**train_output_paths(folder))
