"""What the host costs around the GPU's work: the training loop's overhead per step, and the readers' rates.

    python benchmarks/host_overhead.py [--steps 480] [--repeats 3] [--images 8192] [--no-append]

* Loop: a tiny model (DCGAN width 2, 32x32, batch 8: the step itself is a few ms, as a GPU step of
  the real model is) trained with facegan's default step (EMA, DiffAugment, mirror) three ways, on the
  same streaming batches: a bare ``tf.function`` loop of ``GAN.train_step`` that reads nothing until
  the end; facegan's ``fit()`` with its callbacks (guard, checkpoints, step log, epoch end) at 1 step
  per execution (the host reads after every step, as before issue 15); and at the CPU's automatic
  steps per execution (8). Time per step = wall time of one epoch of ``--steps`` steps / steps,
  median of interleaved repeats.
* Readers at 64x64: raw ``TFRecordDataset`` streaming of the shards (bytes only: the ceiling of
  reading them), facegan's streaming reader (parse, decode, shuffle, flip, batch 128, float32), and its
  memory reader (decoded once with the flipped copies, then a permutation and a gather per batch,
  served as uint8 that the step scales on the device). Both with ``mirror`` on, as the defaults.
  images/s over 5 epochs.
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


def loop_times(files: list[str], steps: int, repeats: int) -> dict[str, list[float]]:
    import keras
    import tensorflow as tf

    from facegan.callbacks import ResumePoint, training_callbacks
    from facegan.devices import DeviceSetup
    from facegan.options import TrainOptions
    from facegan.reader import StreamingBatches, make_dataset
    from facegan.train_state import Checkpoints, TrainingState
    from facegan.training import build_gan

    times: dict[str, list[float]] = {"bare tf.function loop": [], "facegan fit, 1 step per execution": [],
                                     "facegan fit, 8 steps per execution": []}
    batch = 8
    for repeat in range(repeats):
        for name in times:
            executions = 8 if "8 steps" in name else 1
            opts = TrainOptions.from_config({"width": 2}, {"batch_size": batch, "steps_per_execution": executions,
                                                           "log_every_steps": 50, "epochs": 1}, resolution=32)
            keras.utils.set_random_seed(repeat)
            setup = DeviceSetup(tf.distribute.get_strategy(), "cpu", ["/cpu:0"], 0)
            gan = build_gan(opts, setup, policy="float32", steps_per_execution=executions)
            batches = StreamingBatches(files, 32, batch, 0, 256, True, steps)
            with tempfile.TemporaryDirectory() as tmp:
                if name.startswith("bare"):
                    step = tf.function(gan.train_step)
                    it = iter(make_dataset(files, 32, batch, seed=0, epochs=None, shuffle_buffer=256, mirror=True))
                    for _ in range(10):
                        step(next(it))["d_loss"].numpy()  # trace, warm up
                    t = time.perf_counter()
                    for _ in range(steps):
                        logs = step(next(it))
                    logs["d_loss"].numpy()
                    times[name].append((time.perf_counter() - t) / steps)
                    continue
                state = TrainingState(Path(tmp) / "state", {})
                state.prepare()
                checkpoints = Checkpoints(state.ckpt_dir, steps, generator=gan.generator,
                                          discriminator=gan.discriminator, d_optimizer=gan.d_optimizer,
                                          g_optimizer=gan.g_optimizer, generator_ema=gan.generator_ema)
                checkpoints.save(1, 0)  # the epoch-end checkpoint's first save traces its ops: not timed
                z = tf.random.stateless_normal([64, 100], seed=[0, 1])
                callbacks = training_callbacks(state, checkpoints, ResumePoint(0, 0), opts, steps, z)
                gan.fit(batches.epoch(0).take(10), epochs=1, verbose=0, callbacks=[])  # trace, warm up
                t = time.perf_counter()
                gan.fit(batches.epoch(1), initial_epoch=1, epochs=2, verbose=0, callbacks=callbacks)
                times[name].append((time.perf_counter() - t) / steps)
        print({k: round(v[-1] * 1e3, 2) for k, v in times.items()}, flush=True)
    return times


def reader_rates(files: list[str], images: int, repeats: int, epochs: int = 5) -> tuple[dict, float]:
    import tensorflow as tf

    from facegan.reader import MemoryBatches, StreamingBatches

    batch, spe = 128, images // 128
    t = time.perf_counter()
    memory = MemoryBatches(files, 64, batch, 0, True, spe)
    decode_seconds = time.perf_counter() - t
    stream = StreamingBatches(files, 64, batch, 0, 10_000, True, spe)

    def raw(e):
        return tf.data.TFRecordDataset(files).batch(batch, drop_remainder=True)

    kinds = {"raw TFRecord streaming (bytes only)": raw, "facegan streaming reader": stream.epoch,
             "facegan memory reader": memory.epoch}
    rates: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(repeats):
        for name, make in kinds.items():
            for _ in make(0):  # warm the page cache and tf.data
                pass
            t = time.perf_counter()
            count = 0
            for e in range(epochs):
                for b in make(e):
                    count += int(b.shape[0])
            rates[name].append(count / (time.perf_counter() - t))
    return rates, decode_seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=480)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--images", type=int, default=8192)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    configure_tensorflow()
    from _common import median, publish, synthetic_shards, table

    from facegan.doctor import cpu_flags

    with tempfile.TemporaryDirectory() as tmp:
        tiny = synthetic_shards(Path(tmp) / "tiny", args.steps * 8, 32, shards=4)  # one epoch of batch 8
        loop = loop_times(tiny, args.steps, args.repeats)
        shards = synthetic_shards(Path(tmp) / "big", args.images, 64, shards=8)
        rates, decode_seconds = reader_rates(shards, args.images, args.repeats)
    bare = median(loop["bare tf.function loop"])
    body = (f"CPU flags: {' '.join(cpu_flags())}; float32. Loop: tiny DCGAN (width 2, 32x32, batch 8), facegan's "
            f"default step, {args.steps} steps per measurement, median of {args.repeats} interleaved repeats.\n\n")
    body += table(["loop", "ms per step", "vs bare loop"],
                  [[k, f"{median(v) * 1e3:.2f}", f"{median(v) / bare:.2f}x"] for k, v in loop.items()])
    raw = median(rates["raw TFRecord streaming (bytes only)"])
    body += (f"\n\nReaders: {args.images} synthetic faces at 64x64 in 8 shards, batch 128, 5 epochs per measurement, "
             f"median of {args.repeats}, flips on; the memory reader decoded the shards once in {decode_seconds:.1f} s "
             f"and serves uint8 (the step scales them), the streaming reader float32.\n\n")
    body += table(["reader", "images/s", "vs raw streaming"],
                  [[k, f"{median(v):,.0f}", f"{median(v) / raw:.2f}x"] for k, v in rates.items()])
    publish("Host overhead: training loop and readers", body, args.no_append)


if __name__ == "__main__":
    main()
