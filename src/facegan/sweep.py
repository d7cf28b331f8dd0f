"""Comparing the runs of a sweep: one row per run in a CSV, a sheet with a row of faces per run, a chart.

Every run's faces come from the same noise and every run is measured against the same real reference,
so rows compare like with like.
"""

from __future__ import annotations

import csv
import json
import logging
import statistics
from pathlib import Path

import numpy as np
from PIL import Image

from facegan.charts import sweep_chart
from facegan.files import atomic_output
from facegan.images import save_png

log = logging.getLogger(__name__)

FIELDS = ("run", "overrides", "swd_avg", "swd_vs_floor", "joint_coverage", "max_attribute_distance", "fid",
          "epochs", "images_per_s", "train_seconds", "train_max_rss_mb")


def _benchmark(path: str | Path) -> dict:
    """Snakemake's benchmark TSV of a job: wall seconds and peak resident memory."""
    with open(path, newline="") as f:
        row = next(csv.DictReader(f, delimiter="\t"))
    return {"s": float(row["s"]), "max_rss": float(row["max_rss"]) if row.get("max_rss") not in (None, "NA", "-")
            else float("nan")}


def summary_rows(runs: list[str], *, overrides: dict, metrics: list[str], histories: list[str],
                 benchmarks: list[str]) -> list[dict]:
    rows = []
    for run, m_path, h_path, b_path in zip(runs, metrics, histories, benchmarks):
        m = json.loads(Path(m_path).read_text())
        with open(h_path, newline="") as f:
            history = list(csv.DictReader(f))
        attrs = m.get("attributes", {})
        bench = _benchmark(b_path)
        rows.append({"run": run, "overrides": json.dumps(overrides.get(run, {}), sort_keys=True),
                     "swd_avg": f"{m['swd']['SWDx1e3_avg']:.3f}", "swd_vs_floor": f"{m['swd_vs_floor']:.3f}",
                     "joint_coverage": f"{attrs['joint_coverage']:.3f}" if "joint_coverage" in attrs else "",
                     "max_attribute_distance": f"{attrs['max_tvd']:.3f}" if "max_tvd" in attrs else "",
                     "fid": "" if m.get("fid") is None else f"{m['fid']:.2f}", "epochs": len(history),
                     "images_per_s": f"{statistics.median(float(r['images_per_s']) for r in history):.1f}",
                     "train_seconds": f"{bench['s']:.1f}", "train_max_rss_mb": f"{bench['max_rss']:.0f}"})
    return rows


def faces_sheet(runs: list[str], faces: list[str], out: str | Path) -> np.ndarray:
    """The runs' rows of faces stacked, each with its run's name on a banner above it."""
    from facegan.pictures import label_banner

    rows = [label_banner(np.asarray(Image.open(p).convert("RGB")), run) for run, p in zip(runs, faces)]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    sheet = np.concatenate(rows, axis=0)
    save_png(sheet, out)
    return sheet


def summarize(runs: list[str], *, overrides: dict, metrics: list[str], histories: list[str], benchmarks: list[str],
              faces: list[str], summary: str | Path, sheet: str | Path, chart: str | Path) -> list[dict]:
    rows = summary_rows(runs, overrides=overrides, metrics=metrics, histories=histories, benchmarks=benchmarks)
    Path(summary).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(summary) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    faces_sheet(runs, faces, sheet)
    sweep_chart(rows, chart)
    for r in sorted(rows, key=lambda r: float(r["swd_vs_floor"])):
        log.info("%s: %sx the real-data floor, coverage %s, %s images/s", r["run"], r["swd_vs_floor"],
                 r["joint_coverage"] or "-", r["images_per_s"])
    return rows
