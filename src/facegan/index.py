"""The index step: list a data set's images in a fixed order and assign them to shards.

Images are found wherever they are nested under the download folder (Kaggle's CelebA nests them
twice: ``img_align_celeba/img_align_celeba/``), sorted by relative path so the order never
depends on the file system. When CelebA's ``list_eval_partition.csv`` (or the official
``list_eval_partition.txt``) is present, it selects the split. ``limit`` then keeps the first N
(the seed notebooks' "first 10,000 images"), and shard ``k`` of ``n`` gets a contiguous block.
"""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from facegan.errors import FaceganError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
PARTITION_FILES = ("list_eval_partition.csv", "list_eval_partition.txt")
SPLITS = {"train": 0, "val": 1, "test": 2}
HEADER = ("path", "split", "shard")


class DatasetIndexError(FaceganError):
    """The data set cannot be indexed as configured; the message says why."""


@dataclass(frozen=True)
class Entry:
    path: str
    split: str
    shard: int


def find_images(root: str | Path) -> list[Path]:
    """All files with an image suffix below ``root`` (following links), sorted by relative path."""
    root = Path(root)
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        for name in filenames:
            if name.lower().endswith(IMAGE_SUFFIXES) and not name.startswith("."):
                found.append(Path(dirpath) / name)
    found.sort(key=lambda p: p.relative_to(root).as_posix())
    return found


def find_partition_file(root: str | Path) -> Path | None:
    """The shallowest CelebA partition list below ``root``, if any."""
    candidates = [p for name in PARTITION_FILES for p in Path(root).rglob(name)]
    return min(candidates, key=lambda p: (len(p.parts), str(p))) if candidates else None


def read_partitions(path: Path) -> dict[str, str]:
    """Map image file name -> split name from CelebA's CSV (header) or TXT (space separated) list."""
    names = {v: k for k, v in SPLITS.items()}
    out: dict[str, str] = {}
    with open(path, newline="") as f:
        if path.suffix == ".csv":
            rows = csv.reader(f)
            next(rows, None)
        else:
            rows = (line.split() for line in f if line.strip())
        for row in rows:
            try:
                out[row[0].strip()] = names[int(row[1])]
            except (IndexError, ValueError, KeyError) as exc:
                raise DatasetIndexError(
                    f"{path}: malformed row {row!r}; expected image_id,partition with 0/1/2") from exc
    return out


def build_index(root: str | Path, split: str = "all", limit: int = 0, shards: int = 1) -> tuple[list[Entry], dict]:
    """Select and order the images under ``root``; returns entries and counts for stats.json."""
    if shards < 1:
        raise DatasetIndexError(f"preprocess.shards must be at least 1, got {shards}")
    images = find_images(root)
    if not images:
        raise DatasetIndexError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) found under {root}")
    part_file = find_partition_file(root)
    partitions = read_partitions(part_file) if part_file else {}
    if split != "all" and not partitions:
        raise DatasetIndexError(
            f"dataset.split is {split!r} but no {' or '.join(PARTITION_FILES)} was found under {root}; "
            "use dataset.split: all for data sets without CelebA's partition list"
        )
    selected = []
    for p in images:
        part = partitions.get(p.name, "unlisted")
        if split == "all" or part == split:
            selected.append((p, part))
    counts = {"found": len(images), "partition_file": str(part_file) if part_file else None,
              "in_split": len(selected)}
    if limit:
        selected = selected[:limit]
    if not selected:
        raise DatasetIndexError(f"no images left under {root} after split={split!r}, limit={limit}")
    n = len(selected)
    entries = [Entry(str(p), part, (i * shards) // n) for i, (p, part) in enumerate(selected)]
    counts["selected"] = n
    log.info("indexed %d images (%d found, %d in split %r), %d shards", n, len(images), counts["in_split"], split,
             shards)
    return entries, counts


def write_index(entries: list[Entry], path: str | Path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(HEADER)
        for e in entries:
            w.writerow((e.path, e.split, e.shard))


def read_index(path: str | Path, shard: int | None = None) -> list[Entry]:
    with open(path, newline="") as f:
        rows = csv.reader(f, delimiter="\t")
        header = next(rows, None)
        if tuple(header or ()) != HEADER:
            raise DatasetIndexError(f"{path}: not an index file (header {header!r})")
        entries = [Entry(r[0], r[1], int(r[2])) for r in rows]
    return entries if shard is None else [e for e in entries if e.shard == shard]
