import keras
import numpy as np
import pytest

from facegan.models import build_models, trainable_params


def test_canonical_dcgan_parameter_counts_match_the_pytorch_tutorial():
    g, d = build_models(architecture="dcgan", resolution=64, latent_dim=100, width=64)
    assert trainable_params(g) == 3_576_704
    assert trainable_params(d) == 2_765_568


@pytest.mark.parametrize("architecture", ["dcgan", "tutorial"])
@pytest.mark.parametrize("resolution", [32, 64, 128])
def test_shapes(architecture, resolution):
    g, d = build_models(architecture=architecture, resolution=resolution, latent_dim=20, width=4)
    assert g.output_shape == (None, resolution, resolution, 3)
    assert d.output_shape == (None, 1)
    out = g(np.zeros((2, 20), np.float32), training=False)
    assert np.all(np.abs(np.asarray(out)) <= 1.0)


@pytest.mark.parametrize("width", [8, 24, 32])
def test_width_scales_every_layer(width):
    g, _ = build_models(architecture="dcgan", resolution=64, latent_dim=100, width=width)
    w = width  # 4x4 transposed convolutions without bias, 8w-4w-2w-w channels, BatchNorm (2 per channel) between
    convs = 16 * (100 * 8 * w + 8 * w * 4 * w + 4 * w * 2 * w + 2 * w * w + w * 3)
    assert trainable_params(g) == convs + 2 * (8 * w + 4 * w + 2 * w + w)


def test_tutorial_discriminator_has_dropout_0_3_and_no_batchnorm():
    _, d = build_models(architecture="tutorial", resolution=64, latent_dim=100, width=16)
    rates = [layer.rate for layer in d.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates and all(r == 0.3 for r in rates)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in d.layers)


def test_outputs_stay_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        g, d = build_models(architecture="dcgan", resolution=32, latent_dim=10, width=4)
        assert g.output.dtype == "float32" and d.output.dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_bad_resolution_is_rejected():
    with pytest.raises(ValueError, match="power of two"):
        build_models(architecture="dcgan", resolution=48, latent_dim=10, width=4)


def test_flops_of_the_canonical_dcgan_step(repo, monkeypatch):
    """benchmarks/flops.py, which the throughput benchmark's % of peak rests on."""
    monkeypatch.syspath_prepend(str(repo / "benchmarks"))
    from flops import forward_flops, gan_step_flops_per_image

    g, d = build_models(architecture="dcgan", resolution=64, latent_dim=100, width=64)
    # G: 1x1->4x4 projection 0.82M + three 33.55M transposed convs + 3.15M to RGB (multiply-adds).
    assert forward_flops(g) == 2 * (100 * 512 * 16 + 3 * 33_554_432 + 1024 * 16 * 64 * 3)
    # 2.08 GFLOP per image per step (the planning notes rounded it to 2.07).
    assert gan_step_flops_per_image(g, d) == 2_081_210_368


def test_batchnorm_kinds_share_weights_and_unknown_kind_is_an_error():
    from facegan.layers import FusedBatchNormalization

    plain_g, plain_d = build_models(architecture="dcgan", resolution=32, latent_dim=10, width=4)
    fused_g, fused_d = build_models(architecture="dcgan", resolution=32, latent_dim=10, width=4, batchnorm="fused")
    assert any(isinstance(layer, FusedBatchNormalization) for layer in fused_g.layers + fused_d.layers)
    assert not any(isinstance(layer, FusedBatchNormalization) for layer in plain_g.layers + plain_d.layers)
    assert [w.shape for w in plain_g.weights] == [w.shape for w in fused_g.weights]
    assert [w.shape for w in plain_d.weights] == [w.shape for w in fused_d.weights]
    with pytest.raises(ValueError, match="batchnorm must be one of"):
        build_models(architecture="dcgan", resolution=32, latent_dim=10, width=4, batchnorm="fast")


def test_old_architecture_name_seed_still_builds_the_tutorial_model_with_a_warning(caplog):
    with caplog.at_level("WARNING"):
        g_old, _ = build_models(architecture="seed", resolution=32, latent_dim=10, width=4)
    assert "is now called 'tutorial'" in caplog.text
    g_new, _ = build_models(architecture="tutorial", resolution=32, latent_dim=10, width=4)
    assert [w.shape for w in g_old.weights] == [w.shape for w in g_new.weights]
    with pytest.raises(ValueError, match="model.architecture must be one of"):
        build_models(architecture="stylegan", resolution=32, latent_dim=10, width=4)


def test_the_fused_nearest_generator_holds_the_weights_of_keras_layers_and_draws_the_same_faces():
    fused, _ = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4, upsample="nearest",
                            fused_upsample=True)
    plain, _ = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4, upsample="nearest")
    assert not any(isinstance(layer, keras.layers.UpSampling2D) for layer in fused.layers)
    plain.set_weights(fused.get_weights())
    z = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    np.testing.assert_allclose(fused(z, training=False).numpy(), plain(z, training=False).numpy(), atol=1e-5)


def test_rgb_skips_add_an_rgb_image_from_every_resolution():
    g, _ = build_models(architecture="dcgan", resolution=64, latent_dim=8, width=4, rgb_skips=True)
    plain, _ = build_models(architecture="dcgan", resolution=64, latent_dim=8, width=4)
    to_rgb = [layer for layer in g.layers if isinstance(layer, keras.layers.Conv2D)
              and layer.kernel.shape[:2] == (1, 1)]
    assert [layer.output.shape[1] for layer in to_rgb] == [4, 8, 16, 32]  # 1x1 convolutions to 3 channels
    assert trainable_params(g) == trainable_params(plain) + 3 * (32 + 16 + 8 + 4)
    ups = [layer for layer in g.layers if isinstance(layer, keras.layers.UpSampling2D)]
    assert len(ups) == 4 and all(layer.interpolation == "bilinear" for layer in ups)


def test_a_packing_discriminator_reads_the_packed_channels_and_refuses_conditions():
    _, d = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4, pack=2)
    assert d.input_shape == (None, 32, 32, 6)
    spec = {"names": ["glasses"], "classes": [["no", "yes"]], "combos": [[0], [1]], "shares": [0.8, 0.2]}
    with pytest.raises(ValueError, match="model.pack > 1 does not work with model.conditions"):
        build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4, pack=2, conditions=("glasses",),
                     conditioning=spec)


def test_latent_batchnorm_modulates_every_generator_batchnorm_by_the_noise_starting_at_none():
    g, _ = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4, latent_batchnorm=True)
    plain, _ = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4)
    dense = [layer for layer in g.layers if isinstance(layer, keras.layers.Dense)]
    bn_channels = [layer.gamma.shape[0] for layer in g.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert sorted(layer.units for layer in dense) == sorted(2 * bn_channels)  # a scale and a shift per BatchNorm
    assert all(layer.kernel.shape[0] == 8 and not np.any(layer.kernel.numpy()) for layer in dense)  # z, zeros
    assert trainable_params(g) == trainable_params(plain) + 8 * 2 * sum(bn_channels)


def test_d_width_sets_the_discriminators_channels_alone():
    g, d = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=8, d_width=4)
    g8, d8 = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=8)
    _, d4 = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4)
    assert trainable_params(g) == trainable_params(g8) and trainable_params(d) == trainable_params(d4)
    assert trainable_params(d) < trainable_params(d8)


def test_g_refine_makes_full_resolution_features_then_a_3x3_convolution_to_rgb():
    g, _ = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4, g_refine=6)
    plain, _ = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4)
    last = [layer for layer in g.layers if isinstance(layer, keras.layers.Conv2D)][-1]
    assert last.kernel.shape == (3, 3, 6, 3) and g.output_shape == (None, 32, 32, 3)
    # the last upsampling makes 6 channels, not 3; a BatchNorm (2 per channel) and the 3x3 kernel are added
    assert trainable_params(g) == trainable_params(plain) + 16 * 4 * 3 + 2 * 6 + 9 * 6 * 3


def test_d_stem_reads_the_image_at_full_resolution_first():
    _, d = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4, d_stem=5)
    _, plain = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4)
    first = [layer for layer in d.layers if isinstance(layer, keras.layers.Conv2D)][0]
    assert first.kernel.shape == (3, 3, 3, 5) and first.strides == (1, 1)
    assert trainable_params(d) == trainable_params(plain) + 9 * 3 * 5 + 16 * 4 * (5 - 3)


def test_g_refine_and_d_stem_are_refused_for_the_tutorial_architecture():
    with pytest.raises(ValueError, match="model.g_refine and model.d_stem"):
        build_models(architecture="tutorial", resolution=32, latent_dim=8, width=4, g_refine=8)
