"""The data stage on a CelebA-sized folder in Kaggle's layout: time and peak memory per rule.

    python benchmarks/celeba_layout.py [--images 202599] [--resolution 32] [--shards 8] [--no-append]

Builds ``img_align_celeba/img_align_celeba/NNNNNN.jpg`` (178x218 JPEGs, 64 distinct faces repeated
under CelebA's file names) with ``list_eval_partition.csv`` and ``list_attr_celeba.csv`` (CelebA's real
40-name header), then runs ``snakemake data --cores 2`` on it as ``dataset.source: local``. Reports the
wall time, each rule's seconds and peak RSS (Snakemake's benchmark files), and checks that every image
was kept and accounted for in ``stats.json``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
ROOT = HERE.parent

from _common import publish, table  # noqa: E402

from facegan.attributes import CELEBA_ATTRIBUTES  # noqa: E402


def face_jpegs(count: int = 64) -> list[bytes]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(count):
        yy, xx = np.mgrid[0:218, 0:178]
        a, b, c = rng.integers(0, 255, 3)
        rgb = np.stack([(xx + a) % 256, (yy + b) % 256, np.full_like(xx, c)], -1).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def build_folder(root: Path, images: int) -> None:
    folder = root / "img_align_celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    jpegs = face_jpegs()
    names = [f"{i:06d}.jpg" for i in range(1, images + 1)]
    for i, name in enumerate(names):
        (folder / name).write_bytes(jpegs[i % len(jpegs)])
    with open(root / "list_eval_partition.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image_id", "partition"])
        w.writerows([name, 0 if i < 0.8 * images else 1 if i < 0.9 * images else 2] for i, name in enumerate(names))
    rng = np.random.default_rng(1)
    with open(root / "list_attr_celeba.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image_id", *CELEBA_ATTRIBUTES])
        for name in names:
            w.writerow([name, *rng.choice([-1, 1], len(CELEBA_ATTRIBUTES))])


def rule_costs(work: Path) -> list[list]:
    rows = {}
    for tsv in sorted((work / "results" / "benchmarks").rglob("*.tsv")):
        rule = tsv.parent.name if tsv.parent.name != "benchmarks" else tsv.stem
        with open(tsv) as f:
            rec = next(csv.DictReader(f, delimiter="\t"))
        s, rss = float(rec["s"]), float(rec["max_rss"]) if rec["max_rss"] != "NA" else 0.0
        jobs, total, peak = rows.get(rule, (0, 0.0, 0.0))
        rows[rule] = (jobs + 1, total + s, max(peak, rss))
    return [[rule, jobs, f"{total:.1f}", f"{peak:.0f}"] for rule, (jobs, total, peak) in rows.items()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=202_599)
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=ROOT.parent) as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        build_folder(tmp / "celeba", args.images)
        built = time.perf_counter() - t
        work = tmp / "work"
        work.mkdir()
        cfg = {"dataset": {"name": "celeba", "source": "local", "path": str(tmp / "celeba"), "split": "all"},
               "preprocess": {"resolution": args.resolution, "crop": 160, "shards": args.shards}}
        (work / "c.json").write_text(json.dumps(cfg))
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(work),
                               "--cores", "2", "data", "--configfile", str(work / "c.json")], capture_output=True,
                              text=True)
        if proc.returncode:
            sys.exit(f"snakemake data failed:\n{proc.stderr[-3000:]}")
        wall = time.perf_counter() - t
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest process, KiB on Linux
        stats = json.loads((work / "results" / "data" / "stats.json").read_text())
        accounted = stats["kept"] + stats["skipped"] + len(stats.get("copies_skipped", []))
        body = (f"{args.images:,} JPEGs (178x218) in Kaggle's nested layout with both csv tables, "
                f"`snakemake data --cores 2` at {args.resolution}x{args.resolution}, {args.shards} shards: "
                f"**{wall:.0f} s** wall, largest process {peak_mb:.0f} MB peak RSS (building the folder took "
                f"{built:.0f} s, not counted); kept "
                f"{stats['kept']:,}, skipped {stats['skipped']}, found {stats['found']:,} "
                f"({'all accounted for' if accounted == args.images else 'NOT all accounted for'}).\n\n"
                + table(["rule", "jobs", "seconds (sum)", "peak RSS MB (max, Snakemake's benchmark)"],
                        rule_costs(work)))
        publish("The data stage on a CelebA-sized folder", body, args.no_append)


if __name__ == "__main__":
    main()
