"""The GAN as a ``keras.Model`` whose ``train_step`` is one adversarial step, trained with ``fit()``.

As keras-io's ``dcgan_overriding_train_step.py``: ``fit()`` brings the loop, distribution,
callbacks and progress; metrics are ``keras.metrics.Mean``. The step itself is the TensorFlow DCGAN
tutorial's: one generator forward pass, the discriminator on the real and the fake batch (separate
calls, so BatchNorm sees each batch on its own, as in the PyTorch tutorial), both networks'
gradients from that one pass, applied together. Losses are the non-saturating BCE from logits,
with optional one-sided label smoothing.

Distribution: each replica's loss is ``tf.nn.compute_average_loss(..., global_batch_size)``, so the
gradients Keras sums over replicas equal the gradient of the global-batch mean. The noise of the
whole global batch is drawn statelessly from ``(seed, step)`` and each replica takes its slice, so
the run is reproducible, resumes exactly, and 1 or N replicas see the same noise.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class GAN(keras.Model):
    def __init__(self, generator: keras.Model, discriminator: keras.Model, latent_dim: int, seed: int = 0,
                 label_smoothing: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.noise_seed = int(seed)
        self.label_smoothing = float(label_smoothing)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self._bce = keras.losses.BinaryCrossentropy(from_logits=True, reduction=None)
        # Both networks are built functional models; without this, fit() under a distribution
        # strategy "builds" the GAN by calling it on a batch of images (its input is noise).
        self.built = True

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def compile(self, d_optimizer: keras.optimizers.Optimizer, g_optimizer: keras.optimizers.Optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def noise(self, step, global_batch, per_replica, replica_id):
        """This replica's slice of the global batch's noise for ``step``."""
        seed = tf.stack([tf.constant(self.noise_seed, tf.int64), tf.cast(step, tf.int64)])
        z = tf.random.stateless_normal([global_batch, self.latent_dim], seed=seed)
        return z[replica_id * per_replica:(replica_id + 1) * per_replica]

    def train_step(self, real):
        ctx = tf.distribute.get_replica_context()
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        per_replica = tf.shape(real)[0]
        global_batch = per_replica * replicas
        z = self.noise(self.d_optimizer.iterations, global_batch, per_replica, ctx.replica_id_in_sync_group)

        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(z, training=True)
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            real_targets = tf.fill(tf.shape(real_logits), 1.0 - self.label_smoothing)
            d_per_example = self._bce(real_targets, real_logits) + self._bce(tf.zeros_like(fake_logits), fake_logits)
            g_per_example = self._bce(tf.ones_like(fake_logits), fake_logits)
            d_loss = tf.nn.compute_average_loss(d_per_example, global_batch_size=global_batch)
            g_loss = tf.nn.compute_average_loss(g_per_example, global_batch_size=global_batch)
            # Loss scaling for mixed_float16 (a no-op for other optimizers).
            d_scaled = self.d_optimizer.scale_loss(d_loss)
            g_scaled = self.g_optimizer.scale_loss(g_loss)

        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        self.d_optimizer.apply(d_tape.gradient(d_scaled, d_vars), d_vars)
        self.g_optimizer.apply(g_tape.gradient(g_scaled, g_vars), g_vars)

        # Each replica reports its local mean; Mean's sum/count reduce across replicas to the global mean.
        self.d_loss_tracker.update_state(tf.reduce_mean(d_per_example))
        self.g_loss_tracker.update_state(tf.reduce_mean(g_per_example))
        return {m.name: m.result() for m in self.metrics}


def make_optimizer(learning_rate: float, beta_1: float, policy: str) -> keras.optimizers.Optimizer:
    opt = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1)
    if policy == "mixed_float16":
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt
