"""What an epoch boundary costs: the train step's wall time beyond its epochs, with and without tf.data autotuning.

    python benchmarks/epoch_gaps.py WORKDIR [--epochs 8] [--reader stream] [--no-append]

WORKDIR holds the demo's data stage (``results/data/shards``, ``stats.json``, and the attribute files when the
demo is conditioned). Trains the demo's config for ``--epochs`` epochs (SWD probes off, 2 threads), once with
the readers as they are (``facegan.reader.deterministic_options``: autotuning off) and once with tf.data's
autotuning on (how they were before), each in a process of its own, and reports the seconds spent outside
the epochs: from the first epoch's start to the last epoch's end, minus the epochs' own seconds (the
checkpoints and progress grids of every epoch end, and whatever else stalls between two ``fit()`` calls).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

WORKER = """
import json, sys, time
import facegan.reader as reader
spec = json.load(open(sys.argv[1]))
if spec.pop("autotune"):
    plain = reader.deterministic_options
    def with_autotune():
        options = plain()
        options.autotune.enabled = True
        return options
    reader.deterministic_options = with_autotune
from facegan.steps.train import train
train(**spec)
"""


def gap(work: Path, epochs: int, reader: str, autotune: bool) -> tuple[float, float]:
    """(wall seconds from the end of epoch 1 to the end of the last epoch, the own seconds of epochs 2..N)."""
    import datetime

    from facegan.train_outputs import train_output_paths

    demo = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out = tmp / "train"
        spec = {"shards": sorted(str(p) for p in (work / "results/data/shards").glob("*.tfrecord")),
                "stats": str(work / "results/data/stats.json"), "model": demo["model"],
                "training": {**demo["train"], "epochs": epochs, "swd_every_epochs": 0, "gpus": 0, "reader": reader},
                "resolution": demo["preprocess"]["resolution"], "seed": 0, "state_dir": str(tmp / "state"),
                "threads": 2, "log_file": str(tmp / "train.log"), "autotune": autotune,
                **train_output_paths(out)}
        if demo["model"].get("conditions"):
            spec |= {"attributes": str(work / "results/data/attributes.tsv"),
                     "attribute_spec": str(work / "results/data/attributes.json")}
        (tmp / "spec.json").write_text(json.dumps(spec))
        subprocess.run([sys.executable, "-c", WORKER, str(tmp / "spec.json")], check=True, capture_output=True)
        with open(out / "history.csv") as f:
            inside = sum(float(r["seconds"]) for r in list(csv.DictReader(f))[1:])
        ends = [datetime.datetime.strptime(line.split(" INFO")[0], "%Y-%m-%d %H:%M:%S,%f")
                for line in (tmp / "train.log").read_text().splitlines()
                if "facegan.callbacks: epoch " in line and f"/{epochs}: " in line]
    return (ends[-1] - ends[0]).total_seconds(), inside


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--reader", choices=["stream", "memory"], default="stream")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args(argv)
    from _common import append_report, table

    from facegan.doctor import cpu_flags

    rows = []
    for autotune in (True, False):
        wall, inside = gap(args.workdir, args.epochs, args.reader, autotune)
        rows.append([f"autotuning {'on (before)' if autotune else 'off (now)'}", f"{wall:.1f}", f"{inside:.1f}",
                     f"{(wall - inside) / (args.epochs - 1):.1f}"])
    body = (f"CPU flags: {' '.join(cpu_flags()) or 'unknown'}. `python benchmarks/epoch_gaps.py WORKDIR --epochs "
            f"{args.epochs} --reader {args.reader}`: the demo's config, 2 threads, SWD probes off, one run each.\n\n"
            + table(["tf.data", "epoch 1's end to the last's (s)", "epochs 2..N's own seconds",
                     "outside the epochs, per boundary (s)"], rows))
    if args.no_append:
        print(body)
    else:
        append_report("Epoch boundaries: tf.data's autotuning thread", body)


if __name__ == "__main__":
    main()
