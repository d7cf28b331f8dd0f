"""Helpers shared by the benchmarks: machine description, medians, appending to BENCHMARKS.md."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    from facegan.doctor import cpu_model

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
        write_shard([e for e in entries if e.shard == s], s, out, opts=PreprocessOptions(resolution, 160))
        files.append(str(out))
    return files


def publish(title: str, body: str, no_append: bool) -> None:
    """Print the report, or append it to BENCHMARKS.md (which prints it too)."""
    if no_append:
        print(body)
    else:
        append_report(title, body)


class PairedPeak:
    """Step times, each followed by a large float32 matmul timed right after it.

    This VM's speed drifts by up to 2x within minutes (BENCHMARKS.md). Pairing every timed step with
    a peak measured seconds later gives a fraction of peak that drift cancels out of, and a fair
    way to compare configurations that ran minutes apart: by their fractions of the paired peak.
    """

    def __init__(self, size: int = 4096):
        import tensorflow as tf

        a, b = tf.random.normal((size, size), seed=1), tf.random.normal((size, size), seed=2)
        self._matmul = tf.function(lambda: tf.matmul(a, b))
        self._flop = 2 * size**3
        self._matmul().numpy()
        self.steps: list[tuple[float, int]] = []  # (seconds, steps) per timed execution
        self.peaks: list[float] = []  # GFLOP/s after each

    def peak_now(self) -> float:
        t = time.perf_counter()
        self._matmul().numpy()
        return self._flop / (time.perf_counter() - t) / 1e9

    def record(self, seconds: float, steps: int = 1) -> None:
        self.steps.append((seconds, steps))
        self.peaks.append(self.peak_now())

    def result(self) -> dict:
        return {"step_seconds": [s / n for s, n in self.steps], "peaks": self.peaks}


def summarise(results: list[dict], batch: int, gflop_per_image: float) -> dict:
    """Median images/s, peak and fraction of paired peak over all timed steps of all repeats."""
    secs = [s for r in results for s in r["step_seconds"]]
    peaks = [p for r in results for p in r["peaks"]]
    fractions = [batch * gflop_per_image / s / p for r in results for s, p in zip(r["step_seconds"], r["peaks"])]
    return {"images_per_s": batch / median(secs), "peak": median(peaks), "of_peak": median(fractions),
            "best_images_per_s": batch / min(secs), "steps": len(secs)}


def training_rate(shards_dir: str | Path, steps: int = 5, batch: int = 128, resolution: int = 64) -> float:
    """facegan's fp32 training images/s, from a ``train_throughput.py`` worker (median step time)."""
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("train_throughput.py")), "--worker",
                           "facegan fp32 1 replica", "--shards", str(shards_dir), "--steps", str(steps),
                           "--batch", str(batch), "--resolution", str(resolution)],
                          capture_output=True, text=True, timeout=3600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"training worker failed: {proc.stderr[-2000:]}")
    return batch / median(json.loads(lines[-1][7:])["step_seconds"])
