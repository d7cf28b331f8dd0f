"""The weights a tiny run trains, as two short hashes: a refactor that claims "behaviour unchanged" shows it.

    python benchmarks/weights_fingerprint.py [--canonical] [--repo DIR] [--keep DIR]

Runs the real workflow's ``train`` rule (``snakemake results/train/generator.keras``) of the checkout ``--repo``
(default: this one) in a fresh folder: 96 synthetic faces at 32x32, width 8, 3 epochs, float32, 2 threads; with
``--canonical`` over ``config/canonical-dcgan.yaml``. Prints the sha256 (first 16 hex digits) of the generator's
and the discriminator's weights. Compare two checkouts on one machine: kernels differ between CPUs (AVX2 and
AVX-512 give other bits), and the CPU flags are printed beside the hashes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY = {"seed": 0, "dataset": {"name": "tiny", "source": "synthetic", "synthetic_count": 96},
        "preprocess": {"resolution": 32, "crop": 160, "shards": 3},
        "model": {"width": 8}, "train": {"epochs": 3, "mixed_precision": False, "swd_every_epochs": 0},
        "evaluate": {"fid": False}}


def weights_hash(path: Path) -> str:
    import keras

    digest = hashlib.sha256()
    for w in keras.models.load_model(path).get_weights():
        digest.update(w.tobytes())
    return digest.hexdigest()[:16]


def train_tiny(repo: Path, workdir: Path, canonical: bool) -> None:
    configs = [repo / "config" / "config.yaml", workdir / "tiny.yaml"]
    if canonical:
        configs.append(repo / "config" / "canonical-dcgan.yaml")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(workdir), "--cores", "2",
           "results/train/generator.keras", "--configfile", *map(str, configs)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"the tiny run failed ({workdir}):\n{proc.stderr[-3000:]}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--canonical", action="store_true", help="over config/canonical-dcgan.yaml")
    ap.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose workflow and src/ train")
    ap.add_argument("--keep", type=Path, help="train in this folder and keep it (default: a temporary one)")
    args = ap.parse_args(argv)
    from facegan.doctor import cpu_flags

    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp) / "run"
        train_tiny(args.repo.resolve(), workdir, args.canonical)
        g = weights_hash(workdir / "results" / "train" / "generator.keras")
        d = weights_hash(workdir / "results" / "train" / "discriminator.keras")
    step = "canonical" if args.canonical else "default"
    print(f"{step} step, {args.repo}: G {g} D {d} (CPU flags: {' '.join(cpu_flags()) or 'unknown'})")


if __name__ == "__main__":
    main()
