"""The index step: list a data set's images in a fixed order and assign them to shards.

Images are found wherever they are nested under the download folder (Kaggle's CelebA nests them
twice: ``img_align_celeba/img_align_celeba/``), sorted by relative path so the order never
depends on the file system. When CelebA's ``list_eval_partition.csv`` (or the official
``list_eval_partition.txt``) is present, it selects the split. ``limit`` then keeps the first N
(the seed notebooks' "first 10,000 images"), and shard ``k`` of ``n`` gets a contiguous block.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from facegan.attributes import find_table
from facegan.errors import FaceganError
from facegan.files import atomic_output, sha256_file
from facegan.tables import read_rows

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


def walk_files(root: str | Path) -> tuple[list[Path], list[str]]:
    """Every file below ``root``, following symlinked folders (a local data set is a link to the user's
    folder) but each real folder only once: a link back to a parent (a loop) or a second link to a
    folder already seen is skipped, and listed in the second value."""
    root = Path(root)
    seen, repeated, files = set(), [], []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        st = os.stat(dirpath)
        seen.add((st.st_dev, st.st_ino))
        keep = []
        # real folders before links to folders, so that a link is what is skipped when both lead to one place
        for d in sorted(dirnames, key=lambda d: (os.path.islink(os.path.join(dirpath, d)), d)):
            try:
                st = os.stat(os.path.join(dirpath, d))
            except OSError:
                continue  # a dangling link
            if (st.st_dev, st.st_ino) in seen:
                repeated.append(str(Path(dirpath, d).relative_to(root)))
            else:
                seen.add((st.st_dev, st.st_ino))
                keep.append(d)
        dirnames[:] = sorted(keep)
        files.extend(Path(dirpath) / name for name in filenames)
    if repeated:
        log.warning("skipped %d folder(s) already seen through another link (a symlink loop or a duplicate "
                    "link): %s", len(repeated), ", ".join(repeated[:5]) + (" ..." if len(repeated) > 5 else ""))
    return files, repeated


def find_images(root: str | Path, files: list[Path] | None = None) -> list[Path]:
    """All files with an image suffix below ``root`` (see :func:`walk_files`), sorted by relative path."""
    root = Path(root)
    files = walk_files(root)[0] if files is None else files
    found = [p for p in files if p.name.lower().endswith(IMAGE_SUFFIXES) and not p.name.startswith(".")]
    found.sort(key=lambda p: p.relative_to(root).as_posix())
    return found


def drop_copies(images: list[Path], root: Path) -> tuple[list[Path], list[str]]:
    """One image per (file name, content): an archive holding CelebA both flat and nested would otherwise
    count each face twice. Only files sharing a name and size are read; the first in order is kept."""
    by_name: dict[tuple[str, int], list[Path]] = {}
    for p in images:
        by_name.setdefault((p.name, p.stat().st_size), []).append(p)
    copies = set()
    for group in (g for g in by_name.values() if len(g) > 1):
        seen = set()
        for p in group:
            digest = sha256_file(p)
            if digest in seen:
                copies.add(p)
            seen.add(digest)
    if copies:
        log.warning("skipped %d image(s) that are byte-identical copies of another with the same name (listed in "
                    "stats.json as copies_skipped)", len(copies))
    return [p for p in images if p not in copies], sorted(p.relative_to(root).as_posix() for p in copies)


def source_skipped_members(root: Path) -> list[str]:
    """Archive members the download skipped (devices, FIFOs), from the source's marker file."""

    try:
        return list(json.loads((root / "facegan_source.json").read_text()).get("skipped_members", []))
    except (OSError, ValueError, AttributeError):
        return []


def find_partition_file(root: str | Path, files: list[Path] | None = None) -> Path | None:
    """The shallowest CelebA partition list below ``root`` (linked folders included), if any."""
    files = walk_files(root)[0] if files is None else files
    candidates = [p for p in files if p.name in PARTITION_FILES]
    return min(candidates, key=lambda p: (len(p.parts), str(p))) if candidates else None


def read_partitions(path: Path) -> dict[str, str]:
    """Map image file name -> split name from CelebA's CSV (header) or TXT (space separated) list."""
    names = {v: k for k, v in SPLITS.items()}
    out: dict[str, str] = {}
    rows = read_rows(path)
    if path.suffix == ".csv":
        rows = rows[1:]
    for row in rows:
        try:
            out[row[0].strip()] = names[int(row[1])]
        except (IndexError, ValueError, KeyError) as exc:
            raise DatasetIndexError(
                f"{path}: malformed row {row!r}; expected image_id,partition with 0/1/2") from exc
    return out


def build_index(root: str | Path, *, split: str = "all", limit: int = 0, shards: int = 1) -> tuple[list[Entry], dict]:
    """Select and order the images under ``root``; returns entries and counts for stats.json."""
    if shards < 1:
        raise DatasetIndexError(f"preprocess.shards must be at least 1, got {shards}")
    files, repeated = walk_files(root)
    images, copies = drop_copies(find_images(root, files), Path(root))
    if not images:
        raise DatasetIndexError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) found under {root}")
    part_file = find_partition_file(root, files)
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
    table = find_table(files)
    counts = {"found": len(images), "partition_file": str(part_file) if part_file else None,
              "in_split": len(selected), "repeated_folders_skipped": repeated, "copies_skipped": copies,
              "archive_members_skipped": source_skipped_members(Path(root)),
              "attribute_table": str(table) if table else None,
              # so that a changed table reruns the data stage even when nothing else changed
              "attribute_table_sha256": hashlib.sha256(table.read_bytes()).hexdigest() if table else None}
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


# File names are bytes on POSIX; names that are not valid UTF-8 reach Python as surrogate escapes and are
# written back byte for byte, so such a file is indexed and read like any other.
ENCODING = {"encoding": "utf-8", "errors": "surrogateescape"}


def write_index(entries: list[Entry], path: str | Path) -> None:
    with atomic_output(path) as tmp, open(tmp, "w", newline="", **ENCODING) as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(HEADER)
        for e in entries:
            w.writerow((e.path, e.split, e.shard))


def read_index(path: str | Path, shard: int | None = None) -> list[Entry]:
    with open(path, newline="", **ENCODING) as f:
        rows = csv.reader(f, delimiter="\t")
        header = next(rows, None)
        if tuple(header or ()) != HEADER:
            raise DatasetIndexError(f"{path}: not an index file (header {header!r})")
        entries = [Entry(r[0], r[1], int(r[2])) for r in rows]
    return entries if shard is None else [e for e in entries if e.shard == shard]
