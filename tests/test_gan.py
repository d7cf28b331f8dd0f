"""The GAN's training step (facegan.gan, facegan.augment): generator EMA, DiffAugment, x-flips, the
step on one and two replicas, uint8 batches."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from facegan import augment
from facegan.gan import GAN, TailDecay, ema_beta, make_optimizer
from facegan.models import build_models


def test_ema_beta_follows_stylegan2_ada_with_its_ramp_up():
    # No ramp-up: a half-life of 10k images means beta^(10000/32) = 1/2.
    beta = float(ema_beta(50_000, 32, ema_kimg=10.0, ema_rampup=None))  # float32, as in the step
    assert beta == pytest.approx(0.5 ** (32 / 10_000), rel=1e-6)
    assert beta ** (10_000 / 32) == pytest.approx(0.5, rel=1e-4)
    # With the ramp-up, early in training the half-life is 5% of the images seen ...
    assert float(ema_beta(20_000, 32, ema_kimg=10.0, ema_rampup=0.05)) == pytest.approx(0.5 ** (32 / 1_000), rel=1e-6)
    # ... capped at ema_kimg, and at the very first step G_ema is G (beta 0).
    assert float(ema_beta(1_000_000, 32, ema_kimg=10.0, ema_rampup=0.05)) == pytest.approx(0.5 ** (32 / 10_000),
                                                                                           rel=1e-6)
    assert float(ema_beta(0, 32, ema_kimg=10.0, ema_rampup=0.05)) == 0.0


def test_tail_decay_holds_the_rate_then_falls_linearly_towards_zero():
    schedule = TailDecay(5e-4, total_steps=100, decay_steps=40)
    rates = [float(schedule(step)) for step in (0, 59, 60, 80, 99, 100, 150)]
    assert rates == pytest.approx([5e-4, 5e-4, 5e-4, 2.5e-4, 5e-4 / 40, 0.0, 0.0])


def test_a_decaying_adam_moves_by_the_scheduled_rate_and_a_constant_one_is_unchanged():
    # With a constant gradient, each of Adam's steps moves a weight by about its learning rate.
    def moves(**decay):
        opt = make_optimizer(1e-2, 0.5, policy="float32", **decay)
        weight = tf.Variable([0.0])
        opt.build([weight])
        out = []
        for _ in range(4):
            before = float(weight[0])
            opt.apply_gradients([(tf.constant([1.0]), weight)])
            out.append(before - float(weight[0]))
        return out, opt

    decayed, opt = moves(total_steps=4, decay_steps=2)
    assert decayed == pytest.approx([1e-2, 1e-2, 1e-2, 5e-3], rel=1e-3)
    constant, opt = moves()
    assert constant == pytest.approx([1e-2] * 4, rel=1e-3)
    assert not isinstance(opt.learning_rate, keras.optimizers.schedules.LearningRateSchedule)


def test_build_gan_decays_both_rates_over_the_runs_last_epochs():
    from facegan.devices import setup_devices
    from facegan.options import TrainOptions
    from facegan.training import build_gan

    opts = TrainOptions.from_config({"width": 4, "latent_dim": 8},
                                    {"epochs": 5, "lr_decay_epochs": 2, "learning_rate": 1e-3,
                                     "d_learning_rate": 4e-3}, resolution=32)
    setup = setup_devices()
    with setup.strategy.scope():
        gan = build_gan(opts, setup, policy="float32", steps_per_epoch=10)
    for opt, rate in ((gan.g_optimizer, 1e-3), (gan.d_optimizer, 4e-3)):
        read = []
        for step in (0, 30, 40, 49):  # 50 steps, the last 20 decaying
            opt.iterations.assign(step)
            read.append(float(opt.learning_rate))
        assert read == pytest.approx([rate, rate, rate / 2, rate / 20])
    with pytest.raises(ValueError, match="steps_per_epoch"):
        build_gan(opts, setup, policy="float32")


def _tiny_gan(ema_kimg=0.0, augment_ops=(), seed=0):
    keras.utils.set_random_seed(seed)
    g, d = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4)
    ema = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4)[0] if ema_kimg else None
    gan = GAN(g, d, 8, seed=seed, augment=augment_ops, generator_ema=ema, ema_kimg=ema_kimg, ema_rampup=None)
    d_opt, g_opt = make_optimizer(2e-4, 0.5, policy="float32"), make_optimizer(2e-4, 0.5, policy="float32")
    d_opt.build(d.trainable_variables)
    g_opt.build(g.trainable_variables)
    gan.compile(d_optimizer=d_opt, g_optimizer=g_opt, jit_compile=False)
    gan.reset_ema()
    return gan


def test_each_step_moves_g_ema_towards_g_by_beta_and_copies_batchnorm_statistics():
    gan = _tiny_gan(ema_kimg=0.5)
    x = np.random.default_rng(0).uniform(-1, 1, (16, 32, 32, 3)).astype("float32")
    gan.fit(x, batch_size=8, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)  # step 0
    ema_before = [w.numpy().copy() for w in gan.generator_ema.trainable_weights]
    gan.fit(x[8:], batch_size=8, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)  # step 1
    beta = 0.5 ** (8 / 500)
    for e0, e1, g in zip(ema_before, gan.generator_ema.trainable_weights, gan.generator.trainable_weights):
        np.testing.assert_allclose(e1.numpy(), g.numpy() + (e0 - g.numpy()) * beta, rtol=1e-5, atol=1e-7)
    for e, g in zip(gan.generator_ema.non_trainable_weights, gan.generator.non_trainable_weights):
        np.testing.assert_array_equal(e.numpy(), g.numpy())
    assert gan.sampler is gan.generator_ema
    assert not np.allclose(gan.generator_ema.trainable_weights[0].numpy(), gan.generator.trainable_weights[0].numpy())


def _batch(n=6, size=16, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 3)).astype("float32"))


def test_policy_parsing():
    assert augment.parse_policy("translation, cutout") == ("translation", "cutout")
    assert augment.parse_policy("") == ()
    with pytest.raises(ValueError, match="unknown operation"):
        augment.parse_policy("colour")


def test_augmentation_is_a_function_of_its_seed_and_slices_of_the_global_batch_match():
    x = _batch(8)
    ops = ("color", "translation", "cutout")
    seed = tf.constant([7, 3], tf.int64)
    a = augment.diff_augment(x, ops, seed=seed, global_batch=8, first=0)
    assert np.array_equal(a, augment.diff_augment(x, ops, seed=seed, global_batch=8, first=0))
    assert not np.array_equal(a, augment.diff_augment(x, ops, seed=tf.constant([7, 4], tf.int64), global_batch=8,
                                                      first=0))
    # Two replicas each augmenting their half of the global batch give the one-replica result.
    halves = [augment.diff_augment(x[k * 4:(k + 1) * 4], ops, seed=seed, global_batch=8, first=k * 4) for k in (0, 1)]
    assert np.array_equal(a, np.concatenate(halves))


def test_translation_shifts_with_zero_padding_and_cutout_zeroes_half_the_side():
    x = tf.reshape(tf.range(1, 2 * 8 * 8 * 3 + 1, dtype=tf.float32), (2, 8, 8, 3))
    shifted = augment.translation(x, tf.constant([1, 0]), tf.constant([0, -2]))
    np.testing.assert_array_equal(shifted[0, 1:], x[0, :-1])
    np.testing.assert_array_equal(shifted[0, 0], 0)
    np.testing.assert_array_equal(shifted[1, :, :-2], x[1, :, 2:])
    np.testing.assert_array_equal(shifted[1, :, -2:], 0)
    cut = augment.cutout(x, tf.constant([4, 0]), tf.constant([4, 0]))
    assert int(tf.reduce_sum(tf.cast(cut[0, ..., 0] == 0, tf.int32))) == 16  # a 4x4 hole inside
    assert int(tf.reduce_sum(tf.cast(cut[1, ..., 0] == 0, tf.int32))) == 4  # clipped at the corner: 2x2


def test_gradients_reach_the_generator_through_the_augmentation():
    g, d = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4)
    z = tf.random.stateless_normal([4, 8], seed=[1, 2])
    with tf.GradientTape() as tape:
        fake = g(z, training=True)
        logits = d(augment.diff_augment(fake, augment.OPERATIONS, seed=tf.constant([0, 0], tf.int64), global_batch=4,
                                        first=0),
                   training=True)
        loss = tf.reduce_mean(logits)
    grads = tape.gradient(loss, g.trainable_variables)
    assert all(gr is not None for gr in grads) and max(float(tf.reduce_max(tf.abs(gr))) for gr in grads) > 0


def test_mirror_flips_about_half_and_is_stateless():
    x = _batch(64)
    out = augment.mirror_batch(x, tf.constant([1, 2], tf.int64))
    flipped = [np.array_equal(out[i], x[i, :, ::-1]) for i in range(64)]
    kept = [np.array_equal(out[i], x[i]) for i in range(64)]
    assert all(f or k for f, k in zip(flipped, kept)) and 16 < sum(flipped) < 48
    assert np.array_equal(out, augment.mirror_batch(x, tf.constant([1, 2], tf.int64)))


@pytest.mark.slow
def test_a_uint8_batch_trains_like_the_same_batch_scaled_to_float32():
    """The memory reader hands the step uint8 images; the step scales them as the streaming reader does
    (to within one rounding: inside the compiled step TensorFlow may divide by multiplying by 1/127.5)."""
    import tensorflow as tf

    pixels = np.random.default_rng(4).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    weights = []
    for batch in (pixels, pixels.astype(np.float32) / 127.5 - 1.0):
        gan = _tiny_gan()
        gan.fit(tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0)
        weights.append(gan.generator.get_weights() + gan.discriminator.get_weights())
    changed = 0
    for a, b, before in zip(*weights, _tiny_gan().generator.get_weights() + _tiny_gan().discriminator.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
        changed += int(not np.array_equal(a, before))
    assert changed > 10  # the step did train


def test_pack_stacks_consecutive_images_along_the_channels():
    from facegan.gan import pack

    x = tf.reshape(tf.range(4 * 2 * 2 * 3, dtype=tf.float32), (4, 2, 2, 3))
    packed = pack(x, 2).numpy()
    assert packed.shape == (2, 2, 2, 6)
    np.testing.assert_array_equal(packed[1, :, :, :3], x.numpy()[2])
    np.testing.assert_array_equal(packed[1, :, :, 3:], x.numpy()[3])
    assert pack(x, 1) is x
