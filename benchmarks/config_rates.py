"""Training images/s of whole configurations on this machine: the demo's train step per row, alone.

    python benchmarks/config_rates.py WORKDIR [--rows default w32 b16 canonical tutorial] [--epochs 2] [--repeats 2]
        [--precision false]

WORKDIR holds the demo's data stage (``results/data/shards``, ``stats.json``). Each (row, repeat) trains
``--epochs`` epochs in a process of its own with all cores (SWD probes off) and reads the last epoch's
images/s from ``history.csv``; rows are interleaved across repeats (this VM's speed drifts). Prints
``row=images_per_s`` pairs for ``quality_sweep.py --rate`` and a table.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CANONICAL = yaml.safe_load((ROOT / "config" / "canonical-dcgan.yaml").read_text())
DEMO = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
CONDITIONS = ["hair_style", "hair_colour", "glasses"]
# Every row but "default" overrides the demo's step as it was before round 10 (unconditioned, transposed
# convolutions, DiffAugment translation+cutout, DCGAN's learning rate, Adam's beta_2), so the rows of earlier
# rounds keep their meaning.
BEFORE_ROUND_10 = {"model": {"conditions": [], "classify_conditions": False, "conditional_batchnorm": False,
                             "latent_batchnorm": False, "rgb_skips": False, "upsample": "transposed", "g_refine": 0},
                   "train": {"augment": "translation,cutout", "learning_rate": None, "beta_2": 0.999}}
ROWS = {
    "default": {"model": {}, "train": {}},  # config/config.yaml as it is
    "before10": {"model": {"width": 24}, "train": {}},
    "w32": {"model": {"width": 32}, "train": {}},
    "b32": {"model": {"width": 24}, "train": {"batch_size": 32}},
    "b16": {"model": {"width": 24}, "train": {"batch_size": 16}},
    "b8": {"model": {"width": 24}, "train": {"batch_size": 8}},
    "canonical": {"model": {**CANONICAL["model"], "width": 32}, "train": CANONICAL["train"]},
    "tutorial": {"model": {"architecture": "tutorial", "width": 32},
                 "train": {**CANONICAL["train"], "learning_rate": 1e-4, "beta_1": 0.9}},
    # the demo's width and batch (24, 16) with another step: the rows of QUALITY.md's round 5
    "mbstd": {"model": {"width": 24, "minibatch_std": 4}, "train": {"batch_size": 16}},
    "canonical16": {"model": {**CANONICAL["model"], "width": 24}, "train": {**CANONICAL["train"], "batch_size": 16}},
    "tutorial16": {"model": {**CANONICAL["model"], "architecture": "tutorial", "width": 24},
                   "train": {**CANONICAL["train"], "beta_1": 0.9, "batch_size": 16}},
    # conditioned on the demo's hair style, hair colour and glasses (issue 21): QUALITY.md's round 6
    "cond": {"model": {"conditions": CONDITIONS}, "train": {}},
    "condac": {"model": {"conditions": CONDITIONS, "classify_conditions": True}, "train": {}},
    "condcbn": {"model": {"conditions": CONDITIONS, "conditional_batchnorm": True}, "train": {}},
    # round 7: DiffAugment translation only (no cutout), unconditioned and conditioned
    "nocut": {"model": {"conditions": []}, "train": {"augment": "translation"}},
    "condacnocut": {"model": {"conditions": CONDITIONS, "classify_conditions": True},
                    "train": {"augment": "translation"}},
    # round 10 (issue 20): the generator's new options, unconditioned and conditioned; a narrower discriminator
    "skip": {"model": {"rgb_skips": True}, "train": {}},
    "zbn": {"model": {"latent_batchnorm": True}, "train": {}},
    "nearest": {"model": {"upsample": "nearest"}, "train": {}},
    "pack2": {"model": {"pack": 2}, "train": {}},
    "allz": {"model": {"upsample": "nearest", "rgb_skips": True, "latent_batchnorm": True}, "train": {}},
    "condall": {"model": {"conditions": CONDITIONS, "classify_conditions": True, "conditional_batchnorm": True,
                          "latent_batchnorm": True, "rgb_skips": True, "upsample": "nearest"},
                "train": {"augment": "translation"}},
    "condref8": {"model": {"conditions": CONDITIONS, "classify_conditions": True, "conditional_batchnorm": True,
                           "latent_batchnorm": True, "rgb_skips": True, "upsample": "nearest", "g_refine": 8},
                 "train": {"augment": "translation"}},
    "conddw16": {"model": {"conditions": CONDITIONS, "classify_conditions": True, "conditional_batchnorm": True,
                           "latent_batchnorm": True, "rgb_skips": True, "upsample": "nearest", "d_width": 16},
                 "train": {"augment": "translation"}},
}

WORKER = """
import json, sys
from facegan.steps.train import train
spec = json.load(open(sys.argv[1]))
train(**spec)
"""


def rate(work: Path, row: str, epochs: int, precision=None) -> float:
    base = {"model": {}, "train": {}} if row == "default" else BEFORE_ROUND_10
    model = {**DEMO["model"], **base["model"], **ROWS[row]["model"]}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out = tmp / "train"
        names = {"generator": "generator.keras", "generator_h5": "generator.h5",
                 "discriminator": "discriminator.keras", "history": "history.csv", "progress": "progress",
                 "training_options": "training_options.json", "swd": "swd.csv", "steps": "steps.csv",
                 "snapshots": "snapshots"}
        spec = {"shards": sorted(str(p) for p in (work / "results/data/shards").glob("*.tfrecord")),
                "stats": str(work / "results/data/stats.json"),
                "model": model,
                "training": {**DEMO["train"], **base["train"], **ROWS[row]["train"], "epochs": epochs,
                             "swd_every_epochs": 0,
                             "gpus": 0, **({} if precision is None else {"mixed_precision": precision})},
                "resolution": DEMO["preprocess"]["resolution"], "seed": 0, "state_dir": str(tmp / "state"),
                "log_file": str(tmp / "train.log"), **{k: str(out / v) for k, v in names.items()}}
        if model.get("conditions"):
            spec |= {"attributes": str(work / "results/data/attributes.tsv"),
                     "attribute_spec": str(work / "results/data/attributes.json")}
        (tmp / "spec.json").write_text(json.dumps(spec))
        subprocess.run([sys.executable, "-c", WORKER, str(tmp / "spec.json")], check=True, capture_output=True)
        with open(out / "history.csv") as f:
            return float(list(csv.DictReader(f))[-1]["images_per_s"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--rows", nargs="*", default=list(ROWS))
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--precision", type=yaml.safe_load, default=None,
                    help="train.mixed_precision for every row (e.g. false: float32 on any CPU)")
    args = ap.parse_args()
    found: dict[str, list[float]] = {r: [] for r in args.rows}
    for _ in range(args.repeats):
        for row in args.rows:
            found[row].append(rate(args.workdir, row, args.epochs, args.precision))
    from facegan.doctor import cpu_flags

    print(f"CPU flags: {' '.join(cpu_flags())}; train.mixed_precision: "
          f"{DEMO['train']['mixed_precision'] if args.precision is None else args.precision}")
    for row, values in found.items():
        print(f"| {row} | {statistics.median(values):.1f} | {' / '.join(f'{v:.1f}' for v in values)} |")
    print(" ".join(f"--rate {row}={statistics.median(v):.1f}" for row, v in found.items()))


if __name__ == "__main__":
    main()
