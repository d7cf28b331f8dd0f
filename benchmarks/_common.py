"""Helpers shared by the benchmarks: machine description, medians, appending to BENCHMARKS.md."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu_model()}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, {platform.system()}"


def median(values) -> float:
    return statistics.median(values)


def table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def append_report(title: str, body: str, path: Path = ROOT / "BENCHMARKS.md") -> None:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = f"\n## {title} ({stamp})\n\nMachine: {machine()}\n\n{body.rstrip()}\n"
    if not path.exists():
        path.write_text("# Benchmarks\n\nMeasured figures, appended by the scripts in `benchmarks/`.\n")
    with open(path, "a") as f:
        f.write(text)
    print(text)


def synthetic_shards(folder: Path, images: int, resolution: int, shards: int = 4) -> list[str]:
    """Shards of synthetic faces written by facegan's shard writer (the raw faces are made once per folder)."""
    from facegan.index import build_index
    from facegan.preprocess import PreprocessOptions, write_shard
    from facegan.sources import fetch

    raw = folder / "raw"
    if not raw.exists():
        fetch("synthetic", raw, synthetic_count=images, seed=0)
    entries, _ = build_index(raw, shards=shards)
    files = []
    for s in range(shards):
        out = folder / f"r{resolution}" / f"train-{s:05d}-of-{shards:05d}.tfrecord"
        write_shard([e for e in entries if e.shard == s], s, out, PreprocessOptions(resolution, 160))
        files.append(str(out))
    return files


def publish(title: str, body: str, no_append: bool) -> None:
    """Print the report, or append it to BENCHMARKS.md (which prints it too)."""
    if no_append:
        print(body)
    else:
        append_report(title, body)
