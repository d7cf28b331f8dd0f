"""Training throughput of one full GAN step: facegan vs a TF-tutorial step vs the PyTorch DCGAN loop.

    python benchmarks/train_throughput.py [--steps 8] [--repeats 3] [--batch 128] [--no-append]

The canonical 64x64 DCGAN (latent 100, width 64), global batch 128. Every configuration runs in its
own process (logical CPU devices and the precision policy must be set before TensorFlow starts),
all configurations once per repeat, interleaved; the table shows medians. FLOPs per image per step
come from :mod:`facegan.flops` (2.08 GFLOP); every timed step is paired with a 4096^2 float32
matmul timed right after it, in the same process (the "paired peak": see ``_common.PairedPeak``).

* facegan:     ``GAN.fit`` on the shard reader, exactly as the ``train`` rule builds it
               (:func:`facegan.training.build_gan`), float32 / mixed_bfloat16, 1 / 2 CPU replicas.
* tf-tutorial: the TensorFlow DCGAN tutorial's ``@tf.function`` step (two GradientTapes) on the
               same models and reader, written here as the baseline.
* pytorch:     the PyTorch DCGAN example's loop (alternating D and G updates) on the same network,
               when torch is installed (``pip install torch==2.13.0``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from facegan.runtime import configure_tensorflow

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CONFIGS = {
    "facegan fp32 1 replica": {"kind": "facegan", "mixed": False, "replicas": 1},
    "facegan bf16 1 replica": {"kind": "facegan", "mixed": True, "replicas": 1},
    "facegan fp32 2 replicas": {"kind": "facegan", "mixed": False, "replicas": 2},
    "facegan bf16 2 replicas": {"kind": "facegan", "mixed": True, "replicas": 2},
    "tf-tutorial fp32": {"kind": "tutorial"},
    "pytorch example fp32": {"kind": "torch"},
}


# ------------------------------------------------------------------------------------------ workers
# Each returns PairedPeak.result(): the time of every timed step, each paired with a matmul peak.


def worker_facegan(cfg, shards, steps, batch, resolution=64):
    """``cfg`` may also set (step_settings.py): batchnorm, inter_op/intra_op threads, jit_compile,
    steps_per_execution. Steps are timed by a callback that reads the losses, as the train rule's
    StepGuard does after every step."""
    import tensorflow as tf

    if cfg.get("inter_op"):
        tf.config.threading.set_inter_op_parallelism_threads(cfg["inter_op"])
    if cfg.get("intra_op"):
        tf.config.threading.set_intra_op_parallelism_threads(cfg["intra_op"])
    from facegan.devices import precision_policy, setup_devices

    setup = setup_devices(0, cfg["replicas"])
    import keras
    from _common import PairedPeak

    from facegan.options import TrainOptions
    from facegan.reader import make_dataset
    from facegan.training import build_gan

    opts = TrainOptions.from_config({}, {"batch_size": batch, "mixed_precision": cfg["mixed"]}, resolution=resolution)
    policy = precision_policy(opts.run.mixed_precision, kind=setup.kind)
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    spe = cfg.get("steps_per_execution", 1)
    with setup.strategy.scope():
        gan = build_gan(opts, setup, policy=policy, batchnorm=cfg.get("batchnorm"))
        if "jit_compile" in cfg or spe > 1:
            gan.compile(d_optimizer=gan.d_optimizer, g_optimizer=gan.g_optimizer,
                        jit_compile=cfg.get("jit_compile", False), steps_per_execution=spe)
    ds = make_dataset(shards, resolution, batch, seed=0, epochs=None, shuffle_buffer=1024)
    clock = PairedPeak()

    class Timer(keras.callbacks.Callback):
        timing = False

        def on_train_batch_begin(self, step, logs=None):
            self.t = time.perf_counter()

        def on_train_batch_end(self, step, logs=None):
            float(logs["d_loss"])
            if self.timing:
                clock.record(time.perf_counter() - self.t, spe)

    timer = Timer()
    gan.fit(ds, epochs=1, steps_per_epoch=3 * spe, verbose=0, shuffle=False, callbacks=[timer])  # trace, warm up
    timer.timing = True
    gan.fit(ds, epochs=1, steps_per_epoch=steps * spe, verbose=0, shuffle=False, callbacks=[timer])
    return clock.result()


def worker_tutorial(cfg, shards, steps, batch):
    import keras
    import tensorflow as tf
    from _common import PairedPeak

    from facegan.models import build_models
    from facegan.reader import make_dataset

    keras.utils.set_random_seed(0)
    generator, discriminator = build_models(architecture="dcgan", resolution=64, latent_dim=100, width=64)
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    g_opt, d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5)

    @tf.function
    def train_step(images):
        noise = tf.random.normal([batch, 100])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = (cross_entropy(tf.ones_like(real_output), real_output)
                         + cross_entropy(tf.zeros_like(fake_output), fake_output))
        g_opt.apply_gradients(zip(gen_tape.gradient(gen_loss, generator.trainable_variables),
                                  generator.trainable_variables))
        d_opt.apply_gradients(zip(disc_tape.gradient(disc_loss, discriminator.trainable_variables),
                                  discriminator.trainable_variables))
        return gen_loss, disc_loss

    it = iter(make_dataset(shards, 64, batch, seed=0, epochs=None, shuffle_buffer=1024))
    for _ in range(3):
        train_step(next(it))[0].numpy()
    clock = PairedPeak()
    for _ in range(steps):
        t = time.perf_counter()
        train_step(next(it))[0].numpy()
        clock.record(time.perf_counter() - t)
    return clock.result()


def worker_torch(cfg, shards, steps, batch):
    import torch
    from torch import nn

    torch.manual_seed(0)
    nz, ngf, ndf = 100, 64, 64
    netG = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh())
    netD = nn.Sequential(
        nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())
    criterion = nn.BCELoss()
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    data = torch.rand(batch * 4, 3, 64, 64) * 2 - 1

    def step(i):
        real = data[(i % 4) * batch:(i % 4 + 1) * batch]
        netD.zero_grad()
        label = torch.full((batch,), 1.0)
        errD_real = criterion(netD(real).view(-1), label)
        errD_real.backward()
        fake = netG(torch.randn(batch, nz, 1, 1))
        label.fill_(0.0)
        errD_fake = criterion(netD(fake.detach()).view(-1), label)
        errD_fake.backward()
        optD.step()
        netG.zero_grad()
        label.fill_(1.0)
        errG = criterion(netD(fake).view(-1), label)
        errG.backward()
        optG.step()
        return errG.item()

    for i in range(2):
        step(i)
    from _common import PairedPeak  # the same TensorFlow matmul as the other workers' peak

    clock = PairedPeak()
    for i in range(steps):
        t = time.perf_counter()
        step(i)
        clock.record(time.perf_counter() - t)
    return clock.result()


# ------------------------------------------------------------------------------------------ driver


def run_worker(cfg: dict, shards_dir: str, steps: int, batch: int, resolution: int = 64) -> dict | None:
    proc = subprocess.run([sys.executable, __file__, "--worker-config", json.dumps(cfg), "--shards", shards_dir,
                           "--steps", str(steps), "--batch", str(batch), "--resolution", str(resolution)],
                          capture_output=True, text=True, timeout=3600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        print(f"  failed: {tail[0]}", file=sys.stderr)
        return None
    return json.loads(lines[-1][7:])


def run_in_worker(cfg: dict, shards_dir: str, steps: int, batch: int, resolution: int) -> dict:
    shards = sorted(str(p) for p in Path(shards_dir).rglob(f"r{resolution}/*.tfrecord")) or sorted(
        str(p) for p in Path(shards_dir).glob("*.tfrecord"))
    if cfg["kind"] == "facegan":
        return worker_facegan(cfg, shards, steps, batch, resolution)
    return {"tutorial": worker_tutorial, "torch": worker_torch}[cfg["kind"]](cfg, shards, steps, batch)


def measure(configs: dict[str, dict], steps: int, repeats: int, batch: int) -> tuple[dict[str, dict], float]:
    """Every configuration once per repeat, interleaved, each in its own process; summaries by name."""
    from _common import summarise, synthetic_shards
    from flops import gan_step_flops_per_image

    from facegan.models import build_models

    g, d = build_models(architecture="dcgan", resolution=64, latent_dim=100, width=64)
    gflop = gan_step_flops_per_image(g, d) / 1e9
    results: dict[str, list[dict]] = {n: [] for n in configs}
    with tempfile.TemporaryDirectory() as tmp:
        synthetic_shards(Path(tmp), 1024, 64)
        for r in range(repeats):
            for name, cfg in configs.items():
                # bfloat16 without BF16 instructions (e.g. AVX2-only CPUs) is emulated and very slow:
                # fewer timed steps keep the run bounded.
                n = max(1, steps // 4) if cfg.get("mixed") else steps
                value = run_worker(cfg, tmp, n, batch)
                if value:
                    results[name].append(value)
                    s = summarise([value], batch, gflop)
                    print(f"repeat {r + 1}: {name}: {s['images_per_s']:.1f} images/s, {s['of_peak']:.0%} of peak",
                          file=sys.stderr, flush=True)
    return {n: summarise(v, batch, gflop) for n, v in results.items() if v}, gflop


def rows_for(summaries: dict[str, dict], gflop: float, names: list[str], baselines: dict[str, str]) -> list[list]:
    """Table rows; "vs X" columns compare fractions of the paired peak (drift cancels out)."""
    rows = []
    for name in names:
        s = summaries.get(name)
        if not s:
            rows.append([name, "failed"] + [""] * (4 + len(baselines)))
            continue
        row = [name, f"{s['images_per_s']:.1f}", f"{s['best_images_per_s']:.1f}", f"{s['images_per_s'] * gflop:.1f}",
               f"{s['of_peak']:.0%}"]
        for base in baselines.values():
            row.append(f"{s['of_peak'] / summaries[base]['of_peak']:.2f}x" if base in summaries else "")
        rows.append(row)
    return rows


METHOD = ("Every timed step is followed by a float32 4096^2 matmul timed on its own (the paired peak): this VM's speed "
          "drifts by up to 2x within minutes, so 'of peak' is the median over steps of (step GFLOP/s / the peak "
          "measured right after it), and the 'vs' columns compare configurations by that fraction. images/s is "
          "batch / median step time; 'best' is batch / fastest step.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--only", nargs="*", help="run only these configurations (names as in the table)")
    ap.add_argument("--no-append", action="store_true")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--worker-config", help=argparse.SUPPRESS)
    ap.add_argument("--shards", help=argparse.SUPPRESS)
    ap.add_argument("--resolution", type=int, default=64, help=argparse.SUPPRESS)
    args = ap.parse_args()
    configure_tensorflow()  # the same TensorFlow settings as the workflow's steps

    if args.worker or args.worker_config:
        cfg = CONFIGS[args.worker] if args.worker else json.loads(args.worker_config)
        result = run_in_worker(cfg, args.shards, args.steps, args.batch, args.resolution)
        print("RESULT " + json.dumps(result))
        return

    from _common import median, publish, table

    names = args.only or list(CONFIGS)
    try:
        import torch  # noqa: F401
    except ImportError:
        names = [n for n in names if CONFIGS[n]["kind"] != "torch"]
        print("torch is not installed: skipping the PyTorch example (pip install torch==2.13.0)", file=sys.stderr)
    summaries, gflop = measure({n: CONFIGS[n] for n in names}, args.steps, args.repeats, args.batch)
    peak = median([s["peak"] for s in summaries.values()])
    body = (f"Canonical 64x64 DCGAN (G 3.58M, D 2.77M parameters), global batch {args.batch}, {gflop:.2f} GFLOP "
            f"per image per GAN step; {args.steps} timed steps after warm-up (bf16: fewer), {args.repeats} "
            f"interleaved repeats, each configuration in its own process. {METHOD} Median paired peak: "
            f"{peak:.1f} GFLOP/s.\n\n")
    body += table(["configuration", "images/s", "best", "GFLOP/s", "of paired peak", "vs tf-tutorial", "vs pytorch"],
                  rows_for(summaries, gflop, names, {"tf": "tf-tutorial fp32", "torch": "pytorch example fp32"}))
    publish("Training throughput", body, args.no_append)


if __name__ == "__main__":
    main()
