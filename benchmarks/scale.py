"""How preprocessing and training time grow with data set size, and what full CelebA would take.

    python benchmarks/scale.py [--sizes 1000 2000 4000] [--no-append]

* Preprocessing: the real data stage (`snakemake data --cores 2`, synthetic source excluded from the
  time by generating the faces first) at each size with 2 and 8 shards; wall seconds and images/s.
* Training: one epoch of the canonical DCGAN costs images / (images/s); images/s at 64x64 and
  128x128 are measured here with ``train_throughput.py`` workers (batch 128, fp32, 1 replica).
* Full CelebA (202,599 images): extrapolated linearly from the largest measured size, for 2 cores
  (this machine) and for 8 cores (perfect scaling over shard jobs assumed; measured 2-process scaling
  is in the preprocessing table of BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
ROOT = HERE.parent
CELEBA = 202_599


def data_stage(work: Path, size: int, shards: int) -> float:
    cfg = {"dataset": {"name": "faces", "source": "synthetic", "synthetic_count": size},
           "preprocess": {"resolution": 64, "crop": 160, "shards": shards}}
    (work / "c.json").write_text(json.dumps(cfg))
    base = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(work), "--cores", "2"]
    subprocess.run(base + ["download", "--configfile", str(work / "c.json")], check=True, capture_output=True)
    t = time.perf_counter()
    subprocess.run(base + ["data", "--configfile", str(work / "c.json")], check=True, capture_output=True)
    return time.perf_counter() - t


def train_rate(shards_dir: Path, resolution: int) -> float:
    from _common import training_rate

    return training_rate(shards_dir, steps=4, resolution=resolution)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000])
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    from _common import publish, synthetic_shards, table

    rows, points = [], {2: [], 8: []}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            for shards in (2, 8):
                work = Path(tmp) / f"s{size}-{shards}"
                work.mkdir()
                secs = data_stage(work, size, shards)
                rows.append([size, shards, f"{secs:.1f}", f"{size / secs:,.0f}"])
                points[shards].append((size, secs))
        rates = {}
        for res in (64, 128):
            rates[res] = train_rate(Path(synthetic_shards(Path(tmp) / "t", 512, res)[0]).parent, res)
    import numpy as np

    # seconds = fixed + images / rate: each run pays a fixed cost (Snakemake and a Python start per job)
    fits = {}
    for shards, pts in points.items():
        slope, fixed = np.polyfit([p[0] for p in pts], [p[1] for p in pts], 1)
        fits[shards] = (fixed, 1 / slope)
    body = ("Data stage (`snakemake data --cores 2`: index, shard jobs, stats) on synthetic 178x218 JPEGs "
            "to 64x64, download excluded.\n\n")
    body += table(["images", "shards", "seconds", "images/s"], rows)
    body += "\n\nLeast-squares fit seconds = fixed + images / rate:\n\n"
    body += table(["shards", "fixed s", "marginal images/s (2 cores)", f"CelebA {CELEBA:,} images"],
                  [[k, f"{f:.1f}", f"{r:,.0f}", f"{(f + CELEBA / r) / 60:.1f} min"] for k, (f, r) in fits.items()])
    body += "\n\nTraining, canonical DCGAN, batch 128, fp32, 1 replica on this CPU:\n\n"
    body += table(["resolution", "images/s", "seconds per 1,000 images", "one CelebA epoch"],
                  [[r, f"{v:.1f}", f"{1000 / v:.0f}", f"{CELEBA / v / 3600:.1f} h"] for r, v in rates.items()])
    fixed, rate = fits[8]
    body += (f"\n\nFull CelebA ({CELEBA:,} images), from the fits (both stages are linear in the image count: "
             f"streaming shards, fixed work per image): preprocessing ~{(fixed + CELEBA / rate) / 60:.1f} min on "
             f"these 2 cores (~{(fixed + CELEBA / rate / 4) / 60:.1f} min on 8 cores with 16 shards, if shard jobs "
             f"scale as the measured 2-process scaling suggests); one training epoch "
             f"~{CELEBA / rates[64] / 3600:.1f} h at 64x64 and ~{CELEBA / rates[128] / 3600:.1f} h at 128x128 on "
             "this CPU. The PyTorch tutorial's 5 CelebA epochs are a GPU job.\n")
    publish("Scale: data set size, shards, and full CelebA", body, args.no_append)


if __name__ == "__main__":
    main()
