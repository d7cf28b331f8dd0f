"""Which settings make facegan's training step fastest on this machine: one change at a time.

    python benchmarks/step_settings.py [--steps 6] [--repeats 2] [--no-append]

facegan's fp32 step (canonical 64x64 DCGAN, batch 128, one replica) as the ``train`` rule builds it,
then with one setting changed: Keras's unfused BatchNormalization instead of the fused op, TensorFlow's
inter-/intra-op thread pools, XLA (``jit_compile``), and Keras ``steps_per_execution``. Measured as in
``train_throughput.py`` (own process per configuration, interleaved repeats, every step paired with
a matmul peak); "vs default" compares fractions of the paired peak, except for the intra-op row,
whose paired matmul runs on the same smaller pool: it is compared by images/s. The defaults in facegan are the
fastest correct settings found here (BENCHMARKS.md, "Step settings").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

BASE = {"kind": "facegan", "mixed": False, "replicas": 1}
SETTINGS = {
    "default (fused BatchNorm, TF's thread pools)": {},
    "Keras BatchNorm (unfused)": {"batchnorm": "keras"},
    "inter-op threads 1": {"inter_op": 1},
    "intra-op threads 1": {"intra_op": 1},
    "XLA jit_compile": {"jit_compile": True},
    "steps_per_execution 4": {"steps_per_execution": 4},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    from _common import publish, table
    from train_throughput import METHOD, measure, rows_for

    configs = {name: BASE | change for name, change in SETTINGS.items()}
    summaries, gflop = measure(configs, args.steps, args.repeats, args.batch)
    default = next(iter(SETTINGS))
    body = (f"facegan's fp32 step, canonical 64x64 DCGAN, batch {args.batch}, one replica, one setting changed per "
            f"row; {args.steps} timed steps (steps_per_execution: executions of 4 steps) x {args.repeats} "
            f"interleaved repeats. {METHOD}\n\n")
    rows = rows_for(summaries, gflop, list(configs), {"default": default})
    for row in rows:
        if "intra_op" in configs[row[0]] and row[0] in summaries:
            # The paired matmul runs on the same (smaller) intra-op pool: its fraction means nothing here.
            row[4] = "n/a"
            row[5] = f"{summaries[row[0]]['images_per_s'] / summaries[default]['images_per_s']:.2f}x (images/s)"
    body += table(["setting", "images/s", "best", "GFLOP/s", "of paired peak", "vs default"], rows)
    publish("Step settings", body, args.no_append)


if __name__ == "__main__":
    main()
