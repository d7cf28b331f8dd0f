"""Does the shard reader keep training fed? Images/s delivered vs images/s the training step consumes.

    python benchmarks/input_pipeline.py [--images 4096] [--repeats 3] [--no-append]

The reader is ``facegan.reader.make_dataset`` exactly as training uses it (interleave, stateless
block shuffle, batch 128, vectorised parse/decode/scale to float [-1, 1], prefetch), drained as
fast as possible; medians of several passes over 64x64 and 128x128 shards written by the shard
writer. Consumption is the canonical DCGAN's fp32 training throughput measured in the same run (a
``benchmarks/train_throughput.py`` worker). Target: the reader delivers >= 10x what training consumes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from facegan.runtime import configure_tensorflow

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def reader_rate(files: list[str], resolution: int, batch: int = 128) -> float:
    from facegan.reader import make_dataset

    ds = make_dataset(files, resolution, batch, seed=0, epochs=1)
    t = time.perf_counter()
    n = 0
    for b in ds:
        n += int(b.shape[0])
    return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=4096)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    configure_tensorflow()  # the same TensorFlow settings as the workflow's steps
    from _common import median, publish, synthetic_shards, table, training_rate

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for res in (64, 128):
            files = synthetic_shards(Path(tmp), args.images, res, shards=8)
            reader_rate(files, res)  # warm the page cache and tf.data
            rates = [reader_rate(files, res) for _ in range(args.repeats)]
            rows.append([res, median(rates)])
        consumed = training_rate(tmp, steps=5)
    body = (f"{args.images} synthetic faces in 8 shards, batch 128, median of {args.repeats} full passes. "
            f"Training consumes {consumed:.1f} images/s (canonical 64x64 DCGAN, fp32, measured in this run; "
            f"at 128x128 it consumes about 4x fewer).\n\n")
    body += table(["resolution", "reader images/s", "x training consumption at 64x64"],
                  [[r, f"{v:,.0f}", f"{v / consumed:,.0f}x"] for r, v in rows])
    publish("Input pipeline: shard reader vs training consumption", body, args.no_append)


if __name__ == "__main__":
    main()
