"""Snakemake's own overhead: time of a dry run (`snakemake -n`) on the CelebA config.

    python benchmarks/workflow_overhead.py [--repeats 5] [--no-append]

Measures `snakemake -n --configfile config/celeba.yaml` (16 shards: the full CelebA DAG) and the same
with 256 shards, in a fresh working directory (nothing built: every job is planned), median of
``--repeats`` runs, each a new process as a user would run it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
ROOT = HERE.parent


def dry_run(workdir: Path, shards: int) -> tuple[float, int]:
    override = workdir / f"shards-{shards}.yaml"
    override.write_text(f"preprocess:\n  shards: {shards}\n")
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "-n",
                           "--configfile", str(ROOT / "config" / "celeba.yaml"), str(override)],
                          capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    total = [int(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("total ")]
    return elapsed, total[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    from _common import median, publish, table

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for shards in (16, 256):
            runs = [dry_run(Path(tmp), shards) for _ in range(args.repeats)]
            times = [t for t, _ in runs]
            rows.append([shards, runs[0][1], f"{median(times):.2f}", f"{min(times):.2f}"])
    body = f"`snakemake -n` on config/celeba.yaml in an empty working directory, median of {args.repeats} runs.\n\n"
    body += table(["shards", "jobs planned", "median s", "best s"], rows)
    publish("Workflow overhead: dry run of the CelebA DAG", body, args.no_append)


if __name__ == "__main__":
    main()
