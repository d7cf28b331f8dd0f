"""GAN steps on fixed global batches with K logical CPU replicas; saves the weights (test_distributed,
test_gan). ``one_step.py K out.npz ARCH [augment+ema]``: the last argument turns on every
DiffAugment operation and a generator EMA, and runs two steps."""

import sys

import numpy as np

from facegan.runtime import configure_tensorflow

configure_tensorflow()
from facegan.devices import setup_devices  # noqa: E402

replicas, out, arch = int(sys.argv[1]), sys.argv[2], sys.argv[3]
extras = len(sys.argv) > 4 and sys.argv[4] == "augment+ema"
setup = setup_devices(0, replicas)
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from facegan.augment import OPERATIONS  # noqa: E402
from facegan.gan import GAN, make_optimizer  # noqa: E402
from facegan.models import build_models  # noqa: E402

keras.utils.set_random_seed(0)
tf.config.experimental.enable_op_determinism()
with setup.strategy.scope():
    g, d = build_models(architecture=arch, resolution=32, latent_dim=16, width=8,
                        batchnorm="synchronized" if replicas > 1 else "fused")
    d_opt, g_opt = make_optimizer(2e-4, 0.5, policy="float32"), make_optimizer(2e-4, 0.5, policy="float32")
    d_opt.build(d.trainable_variables)
    g_opt.build(g.trainable_variables)
    ema = build_models(architecture=arch, resolution=32, latent_dim=16, width=8)[0] if extras else None
    gan = GAN(g, d, 16, seed=0, augment=OPERATIONS if extras else (), generator_ema=ema, ema_kimg=0.1,
              ema_rampup=None)
    gan.compile(d_optimizer=d_opt, g_optimizer=g_opt, jit_compile=False)
    gan.reset_ema()
initial = [w.copy() for w in g.get_weights() + d.get_weights()]
x = np.random.default_rng(1).uniform(-1, 1, (32 if extras else 16, 32, 32, 3)).astype("float32")
history = gan.fit(tf.data.Dataset.from_tensor_slices(x).batch(16), epochs=1, verbose=0, shuffle=False)
ema_weights = {f"ema{i}": w for i, w in enumerate(ema.get_weights())} if extras else {}
np.savez(out, replicas=setup.replicas, d_loss=history.history["d_loss"][-1],
         **{f"init{i}": w for i, w in enumerate(initial)},
         **{f"w{i}": w for i, w in enumerate(g.get_weights() + d.get_weights())}, **ema_weights)
