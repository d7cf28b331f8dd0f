"""GAN steps on fixed global batches with K logical CPU replicas; saves the weights (test_distributed).
``one_step.py K OUT_DIR VARIANT...`` writes ``OUT_DIR/VARIANT.npz`` for each variant, in one process (one
TensorFlow start): ``plain`` is the DCGAN step; ``augment+ema`` turns on every DiffAugment operation and a
generator EMA, and runs two steps; ``conditioned`` conditions both networks on two attributes (batches of
images and their conditions). Each variant starts from the same seed, so its weights do not depend on
which variants ran before it."""

import sys
from pathlib import Path

import numpy as np

from facegan.runtime import configure_tensorflow

configure_tensorflow()
from facegan.devices import setup_devices  # noqa: E402

replicas, out_dir, variants = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
assert set(variants) <= {"plain", "augment+ema", "conditioned"}, f"unknown variant in {variants}"
setup = setup_devices(0, replicas)
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from facegan.augment import OPERATIONS  # noqa: E402
from facegan.conditioning import Conditioning  # noqa: E402
from facegan.gan import GAN, make_optimizer  # noqa: E402
from facegan.models import build_models  # noqa: E402

tf.config.experimental.enable_op_determinism()


def run(variant: str) -> dict:
    extras, conditioned = variant == "augment+ema", variant == "conditioned"
    keras.utils.set_random_seed(0)
    spec = Conditioning(("a", "b"), (("no", "yes"), ("x", "y", "z")), ((0, 0), (1, 2), (0, -1)), (0.5, 0.3, 0.2)) \
        if conditioned else None
    with setup.strategy.scope():
        g, d = build_models(architecture="dcgan", resolution=32, latent_dim=16, width=8,
                            batchnorm="synchronized" if replicas > 1 else "fused",
                            conditions=spec.names if spec else (), conditioning=spec and spec.to_json())
        d_opt, g_opt = make_optimizer(2e-4, 0.5, policy="float32"), make_optimizer(2e-4, 0.5, policy="float32")
        d_opt.build(d.trainable_variables)
        g_opt.build(g.trainable_variables)
        ema = build_models(architecture="dcgan", resolution=32, latent_dim=16, width=8)[0] if extras else None
        gan = GAN(g, d, 16, seed=0, augment=OPERATIONS if extras else (), generator_ema=ema, ema_kimg=0.1,
                  ema_rampup=None, conditioning=spec)
        gan.compile(d_optimizer=d_opt, g_optimizer=g_opt, jit_compile=False)
        gan.reset_ema()
    initial = [w.copy() for w in g.get_weights() + d.get_weights()]
    x = np.random.default_rng(1).uniform(-1, 1, (32 if extras else 16, 32, 32, 3)).astype("float32")
    labels = np.random.default_rng(2).integers(-1, 2, (len(x), 2)).astype("int32")
    batches = tf.data.Dataset.from_tensor_slices((x, labels) if conditioned else x).batch(16)
    history = gan.fit(batches, epochs=1, verbose=0, shuffle=False)
    ema_weights = {f"ema{i}": w for i, w in enumerate(ema.get_weights())} if extras else {}
    return dict(replicas=setup.replicas, d_loss=history.history["d_loss"][-1],
                **{f"init{i}": w for i, w in enumerate(initial)},
                **{f"w{i}": w for i, w in enumerate(g.get_weights() + d.get_weights())}, **ema_weights)


out_dir.mkdir(parents=True, exist_ok=True)
for variant in variants:
    np.savez(out_dir / f"{variant}.npz", **run(variant))
