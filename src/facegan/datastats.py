"""Collect the shard reports into ``results/data/manifest.tsv`` and ``results/data/stats.json``.

stats.json is the data set's certificate: how many images were found, selected, kept and skipped
(each skip with its file and reason, and counts per reason), the preprocessing settings, and a
SHA-256 per shard plus one over all shards (``dataset_sha256``) that the training stage records,
so a checkpoint is never reused on different data.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from collections import Counter
from pathlib import Path

from facegan.errors import FaceganError
from facegan.files import atomic_output, write_json

log = logging.getLogger(__name__)


def _reason_kind(reason: str) -> str:
    """The reason without its file-specific details, for counting ("too small: 20x20, ..." -> "too small")."""
    return re.split(r"[:(]", reason, maxsplit=1)[0].strip()


def collect(index_counts: dict, reports: list[dict], settings: dict, *, manifest_path: str | Path,
            stats_path: str | Path) -> dict:
    reports = sorted(reports, key=lambda r: r["shard"])
    kept = sum(r["images"] for r in reports)
    skips = [s for r in reports for s in r["skipped"]]
    with atomic_output(manifest_path) as tmp, \
            open(tmp, "w", newline="", encoding="utf-8", errors="surrogateescape") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(("path", "split", "shard"))
        for r in reports:
            for path, split in r["kept"]:
                w.writerow((path, split, r["shard"]))
    combined = hashlib.sha256("".join(r["sha256"] for r in reports).encode()).hexdigest()
    stats = {
        "found": index_counts["found"],
        "in_split": index_counts["in_split"],
        "selected": index_counts["selected"],
        "kept": kept,
        "skipped": len(skips),
        "skipped_by_reason": dict(sorted(Counter(_reason_kind(s["reason"]) for s in skips).items())),
        "skips": skips,
        "partition_file": index_counts.get("partition_file"),
        "repeated_folders_skipped": index_counts.get("repeated_folders_skipped", []),
        "copies_skipped": index_counts.get("copies_skipped", []),
        "archive_members_skipped": index_counts.get("archive_members_skipped", []),
        **settings,
        "shards": [{"file": r["file"], "images": r["images"], "sha256": r["sha256"]} for r in reports],
        "dataset_sha256": combined,
    }
    write_json(stats_path, stats)
    log.info("data set: %d kept, %d skipped of %d selected (%d found)", kept, len(skips), stats["selected"],
             stats["found"])
    if kept == 0:
        raise FaceganError(f"no usable images: all {stats['selected']} selected files were skipped "
                           f"({stats['skipped_by_reason']}); the per-file reasons are in the shard logs")
    return stats
