"""Where facegan's training step spends its time: the TensorFlow profiler, summed by op type.

    python benchmarks/profile_step.py [--steps 4] [--batchnorm fused|keras] [--no-append]

Traces ``--steps`` steps of facegan's fp32 step (canonical 64x64 DCGAN, batch 128, one replica, as
the ``train`` rule builds it) with ``tf.profiler`` after warm-up, converts the trace with
TensorFlow's own profiler tools (``framework_op_stats``) and prints each op type's share of the busy
time (self time summed over threads: ops overlap on TensorFlow's inter-op threads, so it exceeds
the wall time). The trace stays in a temporary folder; ``--logdir`` keeps it for TensorBoard.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import sys
import tempfile
import time
from pathlib import Path

from facegan.runtime import configure_tensorflow

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def op_times(logdir: str) -> dict[str, float]:
    """Self time in microseconds by op type, from the newest trace under ``logdir``."""
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin

    path = sorted(glob.glob(f"{logdir}/plugins/profile/*/*.xplane.pb"))[-1]
    data, ok = plugin.xspace_to_tools_data([path], "framework_op_stats", {})
    if not ok:
        raise RuntimeError(f"the profiler could not convert {path}")
    tables = json.loads(data)
    t = tables[0] if isinstance(tables, list) else tables
    cols = [c["id"] for c in t["cols"]]
    totals: dict[str, float] = collections.Counter()
    for row in t["rows"]:
        r = dict(zip(cols, [c.get("v") if c else None for c in row["c"]]))
        if r["type"] != "IDLE":
            totals[r["type"]] += r["total_self_time"]
    return dict(totals)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--batchnorm", choices=["fused", "keras"], default="fused")
    ap.add_argument("--logdir")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()

    configure_tensorflow()  # the same TensorFlow settings as the workflow's steps
    from facegan.devices import setup_devices

    setup = setup_devices(0, 1)
    import keras
    import tensorflow as tf
    from _common import publish, synthetic_shards, table

    from facegan.options import TrainOptions
    from facegan.reader import make_dataset
    from facegan.training import build_gan

    opts = TrainOptions.from_config({}, {"batch_size": args.batch, "mixed_precision": False}, resolution=64)
    keras.utils.set_random_seed(0)
    with setup.strategy.scope():
        gan = build_gan(opts, setup, policy="float32", batchnorm=args.batchnorm)
    with tempfile.TemporaryDirectory() as tmp:
        ds = make_dataset(synthetic_shards(Path(tmp), 512, 64), 64, args.batch, seed=0, epochs=None,
                          shuffle_buffer=512)
        gan.fit(ds, epochs=1, steps_per_epoch=3, verbose=0, shuffle=False)
        logdir = args.logdir or str(Path(tmp) / "trace")
        tf.profiler.experimental.start(logdir)
        t = time.perf_counter()
        gan.fit(ds, epochs=1, steps_per_epoch=args.steps, verbose=0, shuffle=False)
        wall = (time.perf_counter() - t) / args.steps
        tf.profiler.experimental.stop()
        times = op_times(logdir)
    busy = sum(times.values())
    groups = collections.Counter()
    for op, us in times.items():
        groups["convolutions" if "Conv2D" in op else "other"] += us
    rows = [[op, f"{us / args.steps / 1e3:,.0f}", f"{us / busy:.1%}"]
            for op, us in sorted(times.items(), key=lambda kv: -kv[1]) if us / busy >= 0.002]
    body = (f"facegan fp32 step, canonical 64x64 DCGAN, batch {args.batch}, one replica, {args.batchnorm} "
            f"BatchNorm; {args.steps} traced steps of {wall:.2f} s wall each (the profiler slows them). Busy time "
            f"{busy / args.steps / 1e3:,.0f} ms per step, of which convolutions "
            f"{groups['convolutions'] / busy:.0%}. Op types above 0.2%:\n\n")
    body += table(["op type", "ms per step (self, all threads)", "share of busy time"], rows)
    publish(f"Profile of the training step ({args.batchnorm} BatchNorm)", body, args.no_append)


if __name__ == "__main__":
    main()
