"""The data stage's steps: download -> index -> shard (one job per shard) -> data_stats."""

from __future__ import annotations

import json
from pathlib import Path

from facegan.files import write_json
from facegan.steps.runner import step


@step
def download(*, dataset_dir: str, source: str, path: str = "", kaggle_slug: str = "", synthetic_count: int = 0,
             seed: int = 0) -> None:
    """Fetch the raw data set into ``dataset_dir`` (only the keys ``source`` uses are passed)."""
    from facegan.sources import fetch

    fetch(source, dataset_dir, path=path, kaggle_slug=kaggle_slug, synthetic_count=synthetic_count, seed=seed)


@step
def index(*, dataset_dir: str, index: str, counts: str, split: str, limit: int, shards: int) -> None:
    """List the images to keep, in a fixed order, each assigned to a shard."""
    from facegan.index import build_index, write_index

    entries, found = build_index(dataset_dir, split=split, limit=limit, shards=shards)
    write_index(entries, index)
    write_json(counts, found)


@step
def shard(*, index: str, shard: int, shard_file: str, report: str, resolution: int, crop: int,
          min_side: int) -> None:
    """Preprocess shard number ``shard`` of the index into ``shard_file``, with a report of what was kept."""
    from facegan.index import read_index
    from facegan.preprocess import PreprocessOptions, write_shard

    entries = read_index(index, shard=shard)
    write_shard(entries, shard, shard_file, opts=PreprocessOptions(resolution, crop, min_side), report_path=report)


@step
def data_stats(*, counts: str, reports: list[str], manifest: str, stats: str, attributes: str, attribute_spec: str,
               dataset: str, split: str, limit: int, resolution: int, crop: int, min_side: int) -> None:
    """Collect the shard reports into the manifest and stats.json (the data set's certificate), and each
    kept image's attributes when the data set has an attribute table."""
    from facegan.attributes import write_attribute_files
    from facegan.datastats import collect

    settings = {"dataset": dataset, "split": split, "limit": limit, "resolution": resolution, "crop": crop,
                "min_side": min_side}
    index_counts = json.loads(Path(counts).read_text())
    shard_reports = sorted((json.loads(Path(p).read_text()) for p in reports), key=lambda r: r["shard"])
    collect(index_counts, shard_reports, settings, manifest_path=manifest, stats_path=stats)
    kept = [path for r in shard_reports for path, _ in r["kept"]]
    write_attribute_files(index_counts.get("attribute_table"), kept, out_tsv=attributes, out_json=attribute_spec)
