"""Training throughput of one full GAN step: facegan vs a TF-tutorial step vs the PyTorch DCGAN loop.

    python benchmarks/train_throughput.py [--steps 8] [--repeats 3] [--batch 128] [--no-append]

The canonical 64x64 DCGAN (latent 100, width 64), global batch 128. Every configuration runs in its
own process (logical CPU devices and the precision policy must be set before TensorFlow starts),
all configurations once per repeat, interleaved; the table shows medians. FLOPs per image per step
come from :mod:`facegan.flops` (2.08 GFLOP); "peak" is a 4096^2 float32 matmul measured in the run.

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


def worker_facegan(cfg, shards, steps, batch, resolution=64):
    from facegan.devices import precision_policy, setup_devices

    setup = setup_devices(0, cfg["replicas"])
    import keras

    from facegan.reader import make_dataset
    from facegan.training import TrainOptions, build_gan

    opts = TrainOptions(batch_size=batch, mixed_precision=cfg["mixed"], resolution=resolution)
    policy = precision_policy(opts.mixed_precision, setup.kind)
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    with setup.strategy.scope():
        gan = build_gan(opts, setup, policy)
    ds = make_dataset(shards, resolution, batch, seed=0, epochs=None, shuffle_buffer=1024)
    gan.fit(ds, epochs=1, steps_per_epoch=3, verbose=0, shuffle=False)  # trace and warm up
    t = time.perf_counter()
    gan.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return steps * batch / (time.perf_counter() - t)


def worker_tutorial(cfg, shards, steps, batch):
    import facegan  # noqa: F401  (same TensorFlow settings: oneDNN on)
    import keras
    import tensorflow as tf

    from facegan.models import build_models
    from facegan.reader import make_dataset

    keras.utils.set_random_seed(0)
    generator, discriminator = build_models("dcgan", 64, 100, 64)
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
    t = time.perf_counter()
    for _ in range(steps):
        losses = train_step(next(it))
    losses[0].numpy()
    return steps * batch / (time.perf_counter() - t)


def worker_torch(cfg, shards, steps, batch):
    import torch
    from torch import nn

    torch.manual_seed(0)
    torch.set_num_threads(max(1, torch.get_num_threads()))
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

    for i in range(2):
        step(i)
    t = time.perf_counter()
    for i in range(steps):
        step(i)
    return steps * batch / (time.perf_counter() - t)


def worker_peak(size=4096, repeats=6):
    import facegan  # noqa: F401
    import tensorflow as tf

    a, b = tf.random.normal((size, size)), tf.random.normal((size, size))
    f = tf.function(lambda: tf.matmul(a, b))
    f().numpy()
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        f().numpy()
        best = max(best, 2 * size**3 / (time.perf_counter() - t) / 1e9)
    return best


# ------------------------------------------------------------------------------------------ driver


def run_worker(name: str, shards_dir: str, steps: int, batch: int) -> float | None:
    proc = subprocess.run([sys.executable, __file__, "--worker", name, "--shards", shards_dir, "--steps", str(steps),
                           "--batch", str(batch)], capture_output=True, text=True, timeout=3600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        print(f"  {name}: failed ({tail[0]})", file=sys.stderr)
        return None
    return json.loads(lines[-1][7:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--only", nargs="*", help="run only these configurations (names as in the table)")
    ap.add_argument("--no-append", action="store_true")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--shards", help=argparse.SUPPRESS)
    ap.add_argument("--resolution", type=int, default=64, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        if args.worker == "peak":
            result = worker_peak()
        else:
            cfg = CONFIGS[args.worker]
            shards = sorted(str(p) for p in Path(args.shards).rglob(f"r{args.resolution}/*.tfrecord")) or sorted(
                str(p) for p in Path(args.shards).glob("*.tfrecord"))
            if cfg["kind"] == "facegan":
                result = worker_facegan(cfg, shards, args.steps, args.batch, args.resolution)
            else:
                fn = {"tutorial": worker_tutorial, "torch": worker_torch}[cfg["kind"]]
                result = fn(cfg, shards, args.steps, args.batch)
        print("RESULT " + json.dumps(result))
        return

    from _common import publish, median, synthetic_shards, table

    from facegan.flops import gan_step_flops_per_image
    from facegan.models import build_models

    g, d = build_models("dcgan", 64, 100, 64)
    gflop = gan_step_flops_per_image(g, d) / 1e9
    names = args.only or list(CONFIGS)
    try:
        import torch  # noqa: F401
    except ImportError:
        names = [n for n in names if CONFIGS[n]["kind"] != "torch"]
        print("torch is not installed: skipping the PyTorch example (pip install torch==2.13.0)", file=sys.stderr)
    results: dict[str, list[float]] = {n: [] for n in names}
    peaks = []
    with tempfile.TemporaryDirectory() as tmp:
        synthetic_shards(Path(tmp), 1024, 64)
        for r in range(args.repeats):
            peaks.append(run_worker("peak", tmp, 0, 0))
            for name in names:
                # bfloat16 without BF16 instructions (e.g. AVX2-only CPUs) is emulated and very slow:
                # fewer timed steps keep the run bounded; images/s is still a per-step average.
                steps = max(2, args.steps // 3) if CONFIGS[name].get("mixed") else args.steps
                value = run_worker(name, tmp, steps, args.batch)
                if value:
                    results[name].append(value)
                print(f"repeat {r + 1}: {name}: {value and round(value, 1)} images/s", file=sys.stderr, flush=True)
    peak = median([p for p in peaks if p])
    base = median(results["tf-tutorial fp32"]) if results.get("tf-tutorial fp32") else None
    torch_ips = median(results["pytorch example fp32"]) if results.get("pytorch example fp32") else None
    rows = []
    for name, values in results.items():
        if not values:
            rows.append([name, "failed", "", "", "", ""])
            continue
        ips = median(values)
        rows.append([name, f"{ips:.1f}", f"{ips * gflop:.1f}", f"{ips * gflop / peak:.0%}",
                     f"{ips / base:.2f}x" if base else "", f"{ips / torch_ips:.2f}x" if torch_ips else ""])
    body = (f"Canonical 64x64 DCGAN (G 3.58M, D 2.77M parameters), global batch {args.batch}, {gflop:.2f} GFLOP "
            f"per image per GAN step; {args.steps} timed steps after warm-up, median of {args.repeats} interleaved "
            f"repeats, each configuration in its own process. Matmul peak (float32, 4096^2): {peak:.1f} GFLOP/s.\n\n")
    body += table(["configuration", "images/s", "GFLOP/s", "of matmul peak", "vs tf-tutorial", "vs pytorch"], rows)
    publish("Training throughput", body, args.no_append)


if __name__ == "__main__":
    main()
