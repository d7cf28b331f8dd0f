"""FusedBatchNormalization computes what keras.layers.BatchNormalization computes, with the fused op."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from facegan.layers import FusedBatchNormalization


def _pair(**kwargs):
    plain = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, **kwargs)
    fused = FusedBatchNormalization(momentum=0.9, epsilon=1e-5, **kwargs)
    shape = (None, 6, 5, 7)
    plain.build(shape)
    fused.build(shape)
    rng = np.random.default_rng(0)
    weights = [rng.normal(1, 0.3, 7), rng.normal(0, 0.3, 7), rng.normal(0, 0.3, 7), rng.uniform(0.5, 2, 7)]
    plain.set_weights([w.astype("float32") for w in weights])
    fused.set_weights([w.astype("float32") for w in weights])
    return plain, fused


def _graph_ops(layer, x, training):
    f = tf.function(lambda t: layer(t, training=training))
    return {op.type for op in f.get_concrete_function(x).graph.get_operations()}


def test_training_pass_matches_keras_and_is_fused():
    plain, fused = _pair()
    x = tf.constant(np.random.default_rng(1).normal(2.0, 3.0, (8, 6, 5, 7)).astype("float32"))
    upstream = tf.constant(np.random.default_rng(2).normal(size=(8, 6, 5, 7)).astype("float32"))
    results = []
    for layer in (plain, fused):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * upstream)
        grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        results.append((y.numpy(), [g.numpy() for g in grads], [w.copy() for w in layer.get_weights()]))
    (y0, g0, w0), (y1, g1, w1) = results
    np.testing.assert_allclose(y1, y0, rtol=1e-5, atol=1e-5)
    for a, b in zip(g1, g0):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    for a, b in zip(w1, w0):  # gamma, beta, and moving mean/variance updated from the *biased* variance
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert "FusedBatchNormV3" in _graph_ops(fused, x, True)
    assert "FusedBatchNormV3" not in _graph_ops(plain, x, True)


def test_inference_and_unfusable_inputs_use_keras_path():
    plain, fused = _pair()
    x = tf.constant(np.random.default_rng(3).normal(size=(4, 6, 5, 7)).astype("float32"))
    np.testing.assert_allclose(fused(x, training=False).numpy(), plain(x, training=False).numpy(), rtol=1e-6)
    assert "FusedBatchNormV3" not in _graph_ops(fused, x, False)
    flat = FusedBatchNormalization()
    flat.build((None, 7))
    assert "FusedBatchNormV3" not in _graph_ops(flat, tf.zeros((4, 7)), True)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_keeps_compute_dtype_and_float32_statistics(policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        layer = FusedBatchNormalization()
        x = tf.cast(tf.random.stateless_normal((4, 3, 3, 5), seed=[1, 2]), layer.compute_dtype)
        y = layer(x, training=True)
        assert y.dtype == layer.compute_dtype
        assert layer.moving_variance.dtype == "float32"
        assert np.all(np.isfinite(layer.moving_variance.numpy()))
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_round_trips_through_keras_saving(tmp_path):
    inp = keras.Input((4, 4, 3))
    model = keras.Model(inp, FusedBatchNormalization()(inp))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.layers[-1], FusedBatchNormalization)


def test_nearest_upsample_conv_is_upsampling_and_a_3x3_convolution_as_one_transposed_convolution():
    from facegan.layers import NearestUpsampleConv

    x = tf.constant(np.random.default_rng(4).normal(size=(2, 5, 6, 4)).astype("float32"))
    fused = NearestUpsampleConv(7)
    y = fused(x)
    inputs = keras.Input((5, 6, 4))
    plain = keras.Model(inputs, keras.layers.Conv2D(7, 3, padding="same", use_bias=False)(
        keras.layers.UpSampling2D(2, interpolation="nearest")(inputs)))
    plain.set_weights(fused.get_weights())  # one 3x3 kernel in Conv2D's layout
    np.testing.assert_allclose(y.numpy(), plain(x).numpy(), rtol=1e-5, atol=1e-5)  # borders included
    ops = {op.type for op in tf.function(fused).get_concrete_function(x).graph.get_operations()}
    assert "Conv2DBackpropInput" in ops and "Conv2D" not in ops  # the transposed convolution alone
    flat = fused(tf.ones((1, 5, 6, 4))).numpy()[0, 1:-1, 1:-1]  # away from the zero padding
    np.testing.assert_allclose(flat, np.broadcast_to(flat[:1, :1], flat.shape), rtol=1e-5)  # no checkerboard
