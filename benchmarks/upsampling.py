"""What each way of doubling the generator's resolution costs: the demo's generator, forward and backward.

    python benchmarks/upsampling.py [--threads 2] [--repeats 5] [--no-append]

The demo's generator (width 24, 64x64, batch 16, float32, fused BatchNorm, as training builds it) with
``model.upsample: transposed`` (4x4 stride-2 transposed convolutions), ``nearest`` built from Keras's
``UpSampling2D`` + 3x3 ``Conv2D`` (how it is exported) and ``nearest`` as training builds it
(:class:`facegan.layers.NearestUpsampleConv`: the same map as one transposed convolution), and the last
with its 4x4 kernel built by pads and slices instead of the einsum it uses. Milliseconds per forward and
backward pass (the gradient of a loss on the image with respect to every weight), the best of
``--repeats`` rounds of 20 passes, the variants interleaved.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _padded_box(kernel):
    """The 4x4 kernel of NearestUpsampleConv built with pads and slices (what the einsum replaced)."""
    import tensorflow as tf

    k = tf.pad(kernel, [[1, 1], [0, 0], [0, 0], [0, 0]])
    k = k[1:] + k[:-1]
    k = tf.pad(k, [[0, 0], [1, 1], [0, 0], [0, 0]])
    return tf.transpose((k[:, 1:] + k[:, :-1])[::-1, ::-1], [0, 1, 3, 2])


def _generator(variant: str):
    from facegan.models import build_models

    kw = {"transposed": {}, "nearest (Keras layers)": {"upsample": "nearest"},
          "nearest (fused, einsum)": {"upsample": "nearest", "fused_upsample": True},
          "nearest (fused, pads and slices)": {"upsample": "nearest", "fused_upsample": True}}[variant]
    g, _ = build_models(architecture="dcgan", resolution=64, latent_dim=100, width=24, batchnorm="fused", **kw)
    if variant.endswith("pads and slices)"):
        import tensorflow as tf

        from facegan.layers import NearestUpsampleConv

        def call(self, x):
            shape = tf.shape(x)
            out = tf.stack([shape[0], 2 * shape[1], 2 * shape[2], self.filters])
            return tf.nn.conv2d_transpose(x, _padded_box(self.kernel), out, 2, "SAME")

        for layer in g.layers:
            if isinstance(layer, NearestUpsampleConv):
                layer.call = call.__get__(layer)
    return g


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from _common import append_report, table

    from facegan.doctor import cpu_flags

    variants = ["transposed", "nearest (Keras layers)", "nearest (fused, einsum)", "nearest (fused, pads and slices)"]
    z = tf.random.stateless_normal([16, 100], seed=[0, 0])
    steps = {}
    for v in variants:
        g = _generator(v)

        def step(g=g):
            with tf.GradientTape() as tape:
                image = g(z, training=True)
                loss = tf.reduce_mean(tf.square(image))
            return tape.gradient(loss, g.trainable_variables)

        steps[v] = tf.function(step)
        steps[v]()
    best = {v: float("inf") for v in variants}
    for _ in range(args.repeats):
        for v in variants:
            t0 = time.perf_counter()
            for _ in range(20):
                steps[v]()
            best[v] = min(best[v], (time.perf_counter() - t0) / 20 * 1000)
    rows = [[v, f"{best[v]:.1f}", f"{best[v] / best['transposed']:.2f}x"] for v in variants]
    body = (f"CPU flags: {' '.join(cpu_flags()) or 'unknown'}. `python benchmarks/upsampling.py --threads "
            f"{args.threads}`: the demo's generator (width 24, 64x64, batch 16, float32), one forward and backward "
            f"pass, best of {args.repeats} rounds of 20.\n\n"
            + table(["generator upsampling", "ms per pass", "vs transposed"], rows))
    if args.no_append:
        print(body)
    else:
        append_report("Generator upsampling: transposed, nearest, nearest fused", body)


if __name__ == "__main__":
    main()
