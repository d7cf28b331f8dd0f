"""The GAN as a ``keras.Model`` whose ``train_step`` is one adversarial step, trained with ``fit()``.

As keras-io's ``dcgan_overriding_train_step.py``: ``fit()`` brings the loop, distribution,
callbacks and progress; metrics are ``keras.metrics.Mean``. The step itself is the TensorFlow DCGAN
tutorial's: one generator forward pass, the discriminator on the real and the fake batch (separate
calls, so BatchNorm sees each batch on its own, as in the PyTorch tutorial), both networks'
gradients from that one pass, applied together. Losses: the non-saturating BCE from logits (with
optional one-sided label smoothing), or the hinge loss.

Options beyond the canonical DCGAN (each off by default in :class:`GAN`, so the canonical step is
unchanged when they are off):

* ``augment``: DiffAugment operations (:mod:`facegan.augment`) applied to the real and the fake
  batch before the discriminator, differentiably, so the generator's gradient flows through them;
* ``generator_ema``: an exponential moving average of the generator's weights, updated after every
  step as StyleGAN2-ADA's ``G_ema``: half-life ``ema_kimg`` thousand images, shortened early in
  training by the ramp-up (``ema_nimg = min(ema_kimg * 1000, images_seen * ema_rampup)``), ``beta =
  0.5 ** (batch / ema_nimg)``; BatchNorm's moving statistics are copied, not averaged;
* ``r1_gamma``: the R1 penalty on real images, ``gamma / 2 * |grad_x D(x)|^2`` (Mescheder et al. 2018),
  applied lazily as StyleGAN2-ADA does: on every ``r1_every``-th step only, weighted by ``r1_every``, from
  its own discriminator pass on the (augmented) real batch.

Conditioned (``conditioning``, :mod:`facegan.conditioning`): batches are ``(images, conditions)``; the
discriminator scores each real image with its own conditions, and the generated faces' conditions are
drawn from the data's joint distribution, statelessly from ``(seed, step)`` like the noise. When the
discriminator also classifies the conditions (``model.classify_conditions``: its output is the logit, then
each attribute's class logits), its loss adds the cross-entropy of the real images' own attributes and
the generator's adds that of the attributes it was asked for (AC-GAN, weight 1; unknown values skipped).

Distribution: each replica's loss is ``tf.nn.compute_average_loss(..., global_batch_size)``, so the
gradients Keras sums over replicas equal the gradient of the global-batch mean. The noise and the
augmentation of the whole global batch are drawn statelessly from ``(seed, step)`` and each replica
takes its slice, so the run is reproducible, resumes exactly, and 1 or N replicas see the same.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from facegan.augment import diff_augment

LOSSES = ("bce", "hinge")
# First halves of the stateless seeds of the augmentation and condition streams (the noise uses the run's seed).
AUGMENT_REAL_SEED, AUGMENT_FAKE_SEED, CONDITION_SEED = 0x5EED_0001, 0x5EED_0002, 0x5EED_0003


def pack(images, p: int):
    """PacGAN's packs: each run of ``p`` consecutive images of the batch stacked along the channels,
    ``(n, h, w, c)`` -> ``(n / p, h, w, p * c)`` (``p`` 1: unchanged)."""
    if p == 1:
        return images
    shape = tf.shape(images)
    x = tf.reshape(images, [shape[0] // p, p, shape[1], shape[2], shape[3]])
    x = tf.transpose(x, [0, 2, 3, 1, 4])
    return tf.reshape(x, [shape[0] // p, shape[1], shape[2], p * images.shape[-1]])


def ema_beta(images_seen, batch, *, ema_kimg: float, ema_rampup: float | None):
    """StyleGAN2-ADA's G_ema decay for a step that starts after ``images_seen`` images (works on tensors)."""
    ema_nimg = ema_kimg * 1000.0
    if ema_rampup:
        ema_nimg = tf.minimum(ema_nimg, tf.cast(images_seen, tf.float32) * ema_rampup)
    return tf.pow(0.5, tf.cast(batch, tf.float32) / tf.maximum(tf.cast(ema_nimg, tf.float32), 1e-8))


class GAN(keras.Model):
    def __init__(self, generator: keras.Model, discriminator: keras.Model, latent_dim: int, seed: int = 0,
                 label_smoothing: float = 0.0, *, loss: str = "bce", augment: tuple[str, ...] = (),
                 generator_ema: keras.Model | None = None, ema_kimg: float = 0.0, ema_rampup: float | None = None,
                 r1_gamma: float = 0.0, r1_every: int = 16, conditioning=None, class_weight: float = 1.0,
                 generator_class_weight: float | None = None, class_balance: bool = False,
                 attribute_weights: dict[str, float] | None = None, **kwargs):
        super().__init__(**kwargs)
        if loss not in LOSSES:
            raise ValueError(f"train.loss must be one of {LOSSES}, got {loss!r}")
        self.generator = generator
        self.discriminator = discriminator
        self.generator_ema = generator_ema
        self.latent_dim = latent_dim
        self.noise_seed = int(seed)
        self.label_smoothing = float(label_smoothing)
        self.loss_kind = loss
        self.augment = tuple(augment)
        self.ema_kimg, self.ema_rampup = float(ema_kimg), ema_rampup
        self.r1_gamma, self.r1_every = float(r1_gamma), int(r1_every)
        image_input = discriminator.input_shape[0] if conditioning is not None else discriminator.input_shape
        self.pack = image_input[-1] // generator.output_shape[-1]  # images per discriminator input (PacGAN)
        self.conditioning = conditioning
        self.class_weight = float(class_weight)
        self.generator_class_weight = None if generator_class_weight is None else float(generator_class_weight)
        self.class_slices, self.value_weights, self.attribute_factors = [], None, None
        if conditioning is not None:
            self.condition_combos = tf.constant(conditioning.combos, tf.int32)
            self.condition_logits = tf.math.log(tf.constant([conditioning.shares], tf.float32))
            if discriminator.output_shape[-1] > 1:  # the auxiliary classifier's class logits follow the logit
                ends = [1 + sum(len(c) for c in conditioning.classes[:i + 1]) for i in range(len(conditioning.names))]
                self.class_slices = list(zip([1] + ends[:-1], ends))
                if class_balance:
                    self.value_weights = [tf.constant(w, tf.float32) for w in conditioning.balanced_weights()]
                if attribute_weights:
                    self.attribute_factors = [float(attribute_weights.get(n, 1.0)) for n in conditioning.names]
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        # The first step whose loss was not finite (-1: none yet), set inside the compiled step so the host
        # need not read the losses after every step; the same on every replica.
        self.nonfinite_step = tf.Variable(-1, dtype=tf.int64, trainable=False, name="nonfinite_step",
                                          aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self._bce = keras.losses.BinaryCrossentropy(from_logits=True, reduction=None)
        # Both networks are built functional models; without this, fit() under a distribution
        # strategy "builds" the GAN by calling it on a batch of images (its input is noise).
        self.built = True

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    @property
    def sampler(self) -> keras.Model:
        """The generator that makes the pictures: the EMA one when there is one."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    def compile(self, d_optimizer: keras.optimizers.Optimizer, g_optimizer: keras.optimizers.Optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def noise(self, step, global_batch, *, per_replica, replica_id):
        """This replica's slice of the global batch's noise for ``step``."""
        seed = tf.stack([tf.constant(self.noise_seed, tf.int64), tf.cast(step, tf.int64)])
        z = tf.random.stateless_normal([global_batch, self.latent_dim], seed=seed)
        return z[replica_id * per_replica:(replica_id + 1) * per_replica]

    def fake_conditions(self, step, global_batch, *, per_replica, replica_id):
        """This replica's slice of the generated faces' conditions for ``step``, from the data's joint."""
        seed = tf.stack([tf.constant(CONDITION_SEED + self.noise_seed * 4, tf.int64), tf.cast(step, tf.int64)])
        picks = tf.random.stateless_categorical(self.condition_logits, global_batch, seed=seed)[0]
        return tf.gather(self.condition_combos, picks[replica_id * per_replica:(replica_id + 1) * per_replica])

    def _augment(self, images, stream: int, step, global_batch, first):
        seed = tf.stack([tf.constant(stream + self.noise_seed * 4, tf.int64), tf.cast(step, tf.int64)])
        return diff_augment(images, self.augment, seed=seed, global_batch=global_batch, first=first)

    def _loss_terms(self, real_logits, fake_logits):
        """Per-example discriminator and generator losses."""
        if self.loss_kind == "hinge":
            d = tf.nn.relu(1.0 - real_logits) + tf.nn.relu(1.0 + fake_logits)
            return tf.reduce_mean(d, axis=-1), -tf.reduce_mean(fake_logits, axis=-1)
        real_targets = tf.fill(tf.shape(real_logits), 1.0 - self.label_smoothing)
        d = self._bce(real_targets, real_logits) + self._bce(tf.zeros_like(fake_logits), fake_logits)
        return d, self._bce(tf.ones_like(fake_logits), fake_logits)

    def train_step(self, data):
        real, real_c = data if self.conditioning is not None else (data, None)
        if real.dtype == tf.uint8:  # the memory reader's batches: 4x fewer bytes to the device, scaled here
            real = tf.cast(real, tf.float32) / 127.5 - 1.0
        ctx = tf.distribute.get_replica_context()
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        per_replica = tf.shape(real)[0]
        global_batch = per_replica * replicas
        step = tf.identity(self.d_optimizer.iterations)  # this step's number, read before the updates
        replica = ctx.replica_id_in_sync_group
        z = self.noise(step, global_batch, per_replica=per_replica, replica_id=replica)
        fake_c = None if real_c is None else self.fake_conditions(step, global_batch, per_replica=per_replica,
                                                                   replica_id=replica)

        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(self._with(z, fake_c), training=True)
            if self.augment:
                first = replica * per_replica
                real = self._augment(real, AUGMENT_REAL_SEED, step, global_batch, first)
                fake = self._augment(fake, AUGMENT_FAKE_SEED, step, global_batch, first)
            real = pack(real, self.pack)
            real_logits = self.discriminator(self._with(real, real_c), training=True)
            fake_logits = self.discriminator(self._with(pack(fake, self.pack), fake_c), training=True)
            scored = global_batch // self.pack  # the discriminator's outputs over the global batch
            if self.class_slices:
                real_logits, real_classes = real_logits[:, :1], real_logits
                fake_logits, fake_classes = fake_logits[:, :1], fake_logits
            d_per_example, g_per_example = self._loss_terms(real_logits, fake_logits)
            if self.class_slices:
                d_per_example += self.class_weight * self._class_loss(real_classes, real_c)
                g_weight = self.class_weight if self.generator_class_weight is None else self.generator_class_weight
                g_per_example += g_weight * self._class_loss(fake_classes, fake_c)
            d_loss = tf.nn.compute_average_loss(d_per_example, global_batch_size=scored)
            if self.r1_gamma > 0:
                d_loss += self._lazy_r1(real, real_c, step, scored)
            g_loss = tf.nn.compute_average_loss(g_per_example, global_batch_size=scored)
            # Loss scaling for mixed_float16 (a no-op for other optimizers).
            d_scaled = self.d_optimizer.scale_loss(d_loss)
            g_scaled = self.g_optimizer.scale_loss(g_loss)

        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        self.d_optimizer.apply(d_tape.gradient(d_scaled, d_vars), d_vars)
        self.g_optimizer.apply(g_tape.gradient(g_scaled, g_vars), g_vars)
        if self.generator_ema is not None:
            beta = ema_beta(tf.cast(step, tf.float32) * tf.cast(global_batch, tf.float32), global_batch,
                            ema_kimg=self.ema_kimg, ema_rampup=self.ema_rampup)
            ctx.merge_call(self._update_ema, args=(beta,))

        return self._step_logs(ctx, step, scored, d_per_example, g_per_example, real_logits, fake_logits)

    def _step_logs(self, ctx, step, scored, d_per_example, g_per_example, real_logits, fake_logits):
        """The loss trackers, this step's values over the global batch (``scored`` discriminator outputs: the
        global batch, or its packs) and the non-finite guard."""
        # Each replica reports its local mean; Mean's sum/count reduce across replicas to the global mean.
        self.d_loss_tracker.update_state(tf.reduce_mean(d_per_example))
        self.g_loss_tracker.update_state(tf.reduce_mean(g_per_example))
        # This step's own values over the global batch (the PyTorch tutorial's D(x) and D(G(z)) among them),
        # identical on every replica; and the non-finite guard.
        sums = ctx.all_reduce(tf.distribute.ReduceOp.SUM, tf.stack([
            tf.reduce_sum(d_per_example), tf.reduce_sum(g_per_example),
            tf.reduce_sum(tf.sigmoid(tf.cast(real_logits, tf.float32))),
            tf.reduce_sum(tf.sigmoid(tf.cast(fake_logits, tf.float32)))]))
        step_values = sums / tf.cast(scored, tf.float32)
        bad = tf.logical_not(tf.reduce_all(tf.math.is_finite(step_values[:2])))
        self.nonfinite_step.assign(tf.where(bad & (self.nonfinite_step < 0), tf.cast(step, tf.int64),
                                            self.nonfinite_step))
        logs = {m.name: m.result() for m in self.metrics}
        logs.update(step_d_loss=step_values[0], step_g_loss=step_values[1], d_x=step_values[2],
                    d_g_z=step_values[3], step=tf.cast(step, tf.int64) + 1,
                    nonfinite_step=tf.identity(self.nonfinite_step))
        return logs

    def _class_loss(self, outputs, conditions):
        """Per-example cross-entropy of the auxiliary classifier's class logits against ``conditions``, summed
        over the attributes (an unknown value, -1, adds nothing), each value's weighted by ``value_weights``
        when class-balanced and each attribute's by its ``train.attribute_weights`` factor."""
        total = 0.0
        for i, (start, end) in enumerate(self.class_slices):
            labels = conditions[:, i]
            known = labels >= 0
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.maximum(labels, 0),
                                                                logits=tf.cast(outputs[:, start:end], tf.float32))
            if self.value_weights is not None:
                ce *= tf.gather(self.value_weights[i], tf.maximum(labels, 0))
            if self.attribute_factors is not None:
                ce *= self.attribute_factors[i]
            total += tf.where(known, ce, 0.0)
        return total

    @staticmethod
    def _with(x, conditions):
        """A network's input: ``x`` alone, or with its conditions."""
        return x if conditions is None else [x, conditions]

    def _r1_penalty(self, real, conditions):
        """Per-example |grad_x D(x)|^2 on the real batch (its own discriminator pass, differentiable)."""
        real = tf.identity(real)  # a tensor of this branch's graph: the tape watches the one the pass reads
        with tf.GradientTape() as tape:
            tape.watch(real)
            logits = self.discriminator(self._with(real, conditions), training=True)
            logits = tf.cast(logits[:, :1] if self.class_slices else logits, tf.float32)
        grad = tf.cast(tape.gradient(logits, real), tf.float32)  # of the sum: each row depends on its own image
        return tf.reduce_sum(tf.square(grad), axis=[1, 2, 3])

    def _lazy_r1(self, real, conditions, step, global_batch):
        """This replica's share of the R1 loss: ``r1_every * gamma / 2`` times the penalty's mean on every
        ``r1_every``-th step, 0 on the others."""
        def penalty():
            per_example = self._r1_penalty(real, conditions) * (self.r1_gamma / 2 * self.r1_every)
            return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)

        return tf.cond(tf.equal(step % self.r1_every, 0), penalty, lambda: tf.constant(0.0))

    def _update_ema(self, strategy, beta):
        """In cross-replica context: G_ema <- G + (G_ema - G) * beta; buffers (BatchNorm statistics) copied."""
        beta = strategy.reduce(tf.distribute.ReduceOp.MEAN, beta, axis=None) if strategy.num_replicas_in_sync > 1 \
            else beta
        pairs = zip(self.generator_ema.trainable_weights, self.generator.trainable_weights)
        for ema, w in pairs:
            strategy.extended.update(ema.value, lambda e, v, b: e.assign(v + (e - v) * tf.cast(b, e.dtype)),
                                     args=(w.value, beta))
        for ema, w in zip(self.generator_ema.non_trainable_weights, self.generator.non_trainable_weights):
            strategy.extended.update(ema.value, lambda e, v: e.assign(tf.cast(v, e.dtype)), args=(w.value,))

    def reset_ema(self) -> None:
        """G_ema = G (at the start of training; a resumed run restores it from the checkpoint)."""
        if self.generator_ema is not None:
            self.generator_ema.set_weights(self.generator.get_weights())


class TailDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``rate`` until the last ``decay_steps`` of ``total_steps``, then linearly down towards 0 (the
    learning-rate policy of pix2pix and CycleGAN, ``--n_epochs_decay``): step ``s`` (0-based) trains at
    ``rate * min(1, (total_steps - s) / decay_steps)``. It reads the optimizer's step counter, which the
    checkpoints hold, so a resumed run follows the same rates."""

    def __init__(self, rate: float, total_steps: int, decay_steps: int):
        self.rate, self.total_steps, self.decay_steps = float(rate), int(total_steps), int(decay_steps)

    def __call__(self, step):
        left = (self.total_steps - tf.cast(step, tf.float32)) / self.decay_steps
        return self.rate * tf.clip_by_value(left, 0.0, 1.0)

    def get_config(self) -> dict:
        return {"rate": self.rate, "total_steps": self.total_steps, "decay_steps": self.decay_steps}


def make_optimizer(learning_rate: float, beta_1: float, *, policy: str, beta_2: float = 0.999,
                   total_steps: int = 0, decay_steps: int = 0) -> keras.optimizers.Optimizer:
    """Adam; with ``decay_steps`` its rate decays over the last ``decay_steps`` of ``total_steps`` (TailDecay)."""
    rate = TailDecay(learning_rate, total_steps, decay_steps) if decay_steps else learning_rate
    opt = keras.optimizers.Adam(learning_rate=rate, beta_1=beta_1, beta_2=beta_2)
    if policy == "mixed_float16":
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt
