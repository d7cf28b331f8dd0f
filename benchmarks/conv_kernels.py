"""Speed of each convolution kernel the DCGAN step runs, against a large matmul: where the ceiling is.

    python benchmarks/conv_kernels.py [--repeats 8] [--no-append]

The canonical 64x64 DCGAN's 4x4 stride-2 convolutions at batch 128 (the discriminator's shapes;
the generator's transposed convolutions run the same three kernels on the same shapes), each timed
alone as a ``tf.function``: forward (``Conv2D``), gradient of the input (``Conv2DBackpropInput``) and
gradient of the filter (``Conv2DBackpropFilter``), channels-last as facegan trains and channels-first
for comparison, plus the filter gradient computed as im2col + matmul. GFLOP/s of the median run;
the matmul is float32 4096^2, timed the same way in the same process.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from facegan.runtime import configure_tensorflow

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SHAPES = [(64, 3, 64), (32, 64, 128), (16, 128, 256), (8, 256, 512)]  # input size, in, out channels


def timed(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn().numpy()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    configure_tensorflow()  # the same TensorFlow settings as the workflow's steps
    import tensorflow as tf
    from _common import publish, table

    b = args.batch
    a, m = tf.random.normal((4096, 4096)), tf.random.normal((4096, 4096))
    peak = 2 * 4096**3 / timed(tf.function(lambda: tf.matmul(a, m)), args.repeats) / 1e9
    rows = []
    for size, cin, cout in SHAPES:
        out = size // 2
        flop = 2 * b * out * out * 16 * cin * cout
        row = [f"{size}x{size}x{cin} -> {out}x{out}x{cout}"]
        for fmt in ("NHWC", "NCHW"):
            xs = (b, size, size, cin) if fmt == "NHWC" else (b, cin, size, size)
            ys = (b, out, out, cout) if fmt == "NHWC" else (b, cout, out, out)
            strides = [1, 2, 2, 1] if fmt == "NHWC" else [1, 1, 2, 2]
            x, dy, w = tf.random.normal(xs), tf.random.normal(ys), tf.random.normal((4, 4, cin, cout))
            kernels = [
                lambda: tf.nn.conv2d(x, w, strides, "SAME", data_format=fmt),
                lambda: tf.compat.v1.nn.conv2d_backprop_input(xs, w, dy, strides, "SAME", data_format=fmt),
                lambda: tf.compat.v1.nn.conv2d_backprop_filter(x, (4, 4, cin, cout), dy, strides, "SAME",
                                                               data_format=fmt),
            ]
            for k in kernels:
                try:
                    row.append(f"{flop / timed(tf.function(k), args.repeats) / 1e9:.0f}")
                except tf.errors.OpError:  # some kernels exist only for one layout
                    row.append("n/a")
        x, dy = tf.random.normal((b, size, size, cin)), tf.random.normal((b, out, out, cout))

        def im2col_filter_grad():
            patches = tf.image.extract_patches(tf.pad(x, [[0, 0], [1, 2], [1, 2], [0, 0]]), [1, 4, 4, 1],
                                               [1, 2, 2, 1], [1, 1, 1, 1], "VALID")
            return tf.matmul(tf.reshape(patches, (-1, 16 * cin)), tf.reshape(dy, (-1, cout)), transpose_a=True)

        row.append(f"{flop / timed(tf.function(im2col_filter_grad), args.repeats) / 1e9:.0f}")
        rows.append(row)
    body = (f"Batch {b}, 4x4 stride-2 'same' convolutions of the canonical discriminator, GFLOP/s (median of "
            f"{args.repeats}). Float32 4096^2 matmul in the same process: {peak:.0f} GFLOP/s.\n\n")
    body += table(["shape", "fwd NHWC", "grad input NHWC", "grad filter NHWC", "fwd NCHW", "grad input NCHW",
                   "grad filter NCHW", "grad filter im2col+matmul"], rows)
    publish("Convolution kernels of the step", body, args.no_append)


if __name__ == "__main__":
    main()
