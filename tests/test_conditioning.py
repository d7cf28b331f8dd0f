"""model.conditions: the data's joint distribution, the names checked at parse time, the networks' second input,
the readers' conditions (issue 21)."""

import zipfile

import numpy as np
import pytest

from facegan.attributes import CELEBA_ATTRIBUTES, Attribute, synthetic_attributes
from facegan.condition_check import check_conditions, data_attribute_names
from facegan.conditioning import ConditionError, Conditioning, attribute_columns

ATTRS = [Attribute("glasses", ("no", "yes")), Attribute("hair", ("short", "long", "bald")),
         Attribute("smiling", ("no", "yes"))]


def _spec():
    labels = np.array([[0, 0, 1]] * 6 + [[1, 1, 0]] * 3 + [[0, 2, -1]] * 1)
    return Conditioning.from_labels(("glasses", "hair"), ATTRS, labels)


def test_the_joint_distribution_is_the_datas_own():
    spec = _spec()
    assert spec.names == ("glasses", "hair") and spec.classes == (("no", "yes"), ("short", "long", "bald"))
    assert dict(zip(spec.combos, spec.shares)) == pytest.approx({(0, 0): 0.6, (1, 1): 0.3, (0, 2): 0.1})
    drawn = spec.draw(20_000, np.random.default_rng(0))
    combos, counts = np.unique(drawn, axis=0, return_counts=True)
    assert {tuple(c): n / 20_000 for c, n in zip(combos, counts)} == pytest.approx(
        {(0, 0): 0.6, (1, 1): 0.3, (0, 2): 0.1}, abs=0.015)
    assert Conditioning.from_json(spec.to_json()) == spec


def test_a_fixed_value_draws_the_others_from_the_data_given_it():
    spec = _spec()
    drawn = spec.draw(1000, np.random.default_rng(0), {0: 0})  # glasses=no: hair short 6/7, bald 1/7
    assert set(drawn[:, 0]) == {0} and set(drawn[:, 1]) == {0, 2}
    assert np.mean(drawn[:, 1] == 2) == pytest.approx(1 / 7, abs=0.04)
    never_seen = spec.draw(500, np.random.default_rng(0), {0: 1, 1: 2})  # glasses and bald: not in the data
    assert (never_seen == [1, 2]).all()


def test_requests_are_parsed_and_bad_ones_name_the_valid_choices():
    spec = _spec()
    assert spec.parse(["glasses=yes", "hair = bald"]) == {0: 1, 1: 2}
    with pytest.raises(ConditionError, match="conditioned on glasses, hair, not 'hat'"):
        spec.parse(["hat=yes"])
    with pytest.raises(ConditionError, match="hair is one of short, long, bald"):
        spec.parse(["hair=curly"])
    with pytest.raises(ConditionError, match="write it as name=value"):
        spec.parse(["glasses"])


def test_unknown_names_and_a_missing_table_are_one_line_listing_the_attributes():
    with pytest.raises(ConditionError) as err:
        attribute_columns(["glases"], [a.name for a in synthetic_attributes()])
    assert str(err.value) == ("model.conditions: 'glases' is not an attribute of the data; it has skin, hair_colour, "
                              "hair_style, glasses, smiling, eye_colour, background_hue")
    with pytest.raises(ConditionError, match="has no attribute table .* set model.conditions: \\[\\]"):
        attribute_columns(["Male"], [])
    with pytest.raises(ConditionError, match="twice"):
        attribute_columns(["skin", "skin"], ["skin"])


def test_the_datas_attribute_names_are_known_before_the_data_stage(tmp_path):
    assert data_attribute_names({"source": "synthetic"}, tmp_path / "none") == [a.name for a in
                                                                                synthetic_attributes()]
    celeba = {"source": "kaggle", "kaggle_slug": "jessicali9530/celeba-dataset"}
    assert data_attribute_names(celeba, tmp_path / "none") == list(CELEBA_ATTRIBUTES)
    assert data_attribute_names({"source": "kaggle", "kaggle_slug": "someone/faces"}, tmp_path / "none") is None
    folder = tmp_path / "faces"
    (folder / "img").mkdir(parents=True)
    assert data_attribute_names({"source": "local", "path": str(folder)}, tmp_path / "none") == []
    (folder / "list_attr_celeba.csv").write_text("image_id,Male,Smiling\n000001.jpg,1,-1\n")
    assert data_attribute_names({"source": "local", "path": str(folder)}, tmp_path / "none") == ["Male", "Smiling"]
    archive = tmp_path / "faces.zip"
    zipfile.ZipFile(archive, "w").close()
    assert data_attribute_names({"source": "local", "path": str(archive)}, tmp_path / "none") is None


def test_parse_time_check_covers_sweep_runs(tmp_path):
    config = {"dataset": {"source": "synthetic"}, "model": {"conditions": ["glasses"]},
              "sweep": {"a": {"model": {"conditions": ["hair_style"]}}, "b": {"model": {"conditions": ["Male"]}}}}
    with pytest.raises(ConditionError, match="^sweep run b: model.conditions: 'Male' is not an attribute"):
        check_conditions(config, tmp_path / "none")
    check_conditions({"dataset": {"source": "local", "path": str(tmp_path)}, "model": {"conditions": []}},
                     tmp_path / "none")  # unconditioned: nothing to check


# ------------------------------------------------------------------------------------------ the networks


def test_conditioned_networks_take_the_conditions_and_use_them():
    import keras

    from facegan.models import build_models, trainable_params

    spec = _spec()
    keras.utils.set_random_seed(0)
    plain_g, plain_d = build_models(architecture="dcgan", resolution=32, latent_dim=16, width=8)
    keras.utils.set_random_seed(0)
    g, d = build_models(architecture="dcgan", resolution=32, latent_dim=16, width=8, conditions=spec.names,
                        conditioning=spec.to_json())
    assert [i.name for i in g.inputs] == ["z", "conditions"] and [i.name for i in d.inputs] == ["image", "conditions"]
    # G's first 4x4 layer (32 filters at 32 px, width 8) reads the 5 condition codes beside z; D adds one
    # embedding of 5 codes x its last width (32)
    assert trainable_params(g) - trainable_params(plain_g) == 5 * 4 * 4 * 32
    assert trainable_params(d) - trainable_params(plain_d) == 5 * 32
    z = np.random.default_rng(0).standard_normal((4, 16)).astype("float32")
    a, b = np.array([[0, 0]] * 4, "int32"), np.array([[1, 2]] * 4, "int32")
    assert not np.allclose(g([z, a]), g([z, b]))
    images = np.asarray(g([z, a]))
    assert not np.allclose(d([images, a]), d([images, b]))
    unknown = np.array([[-1, -1]] * 4, "int32")  # an unknown value encodes as no class at all
    from facegan.layers import ConditionEncoding

    assert not np.asarray(ConditionEncoding(spec.to_json())(unknown)).any()
    with pytest.raises(ValueError, match="needs the data's conditioning"):
        build_models(architecture="dcgan", resolution=32, latent_dim=16, width=8, conditions=("glasses",))


@pytest.mark.parametrize("architecture", ["dcgan", "tutorial"])
def test_the_auxiliary_classifier_adds_the_class_logits_after_the_logit(architecture):
    from facegan.models import build_models

    spec = _spec()
    _, d = build_models(architecture=architecture, resolution=32, latent_dim=8, width=4, conditions=spec.names,
                        conditioning=spec.to_json(), classify_conditions=True)
    assert d.output_shape == (None, 1 + 2 + 3)


@pytest.mark.parametrize("architecture", ["dcgan", "tutorial"])
def test_conditional_batchnorm_modulates_every_batchnorm_from_no_modulation(architecture):
    import keras

    from facegan.models import build_models, trainable_params

    spec = _spec()
    keys = dict(architecture=architecture, resolution=32, latent_dim=8, width=4, conditions=spec.names,
                conditioning=spec.to_json())
    keras.utils.set_random_seed(0)
    g, _ = build_models(**keys)
    keras.utils.set_random_seed(0)
    cbn, _ = build_models(**keys, conditional_batchnorm=True)
    channels = sum(layer.gamma.shape[0] for layer in g.layers if isinstance(layer, keras.layers.BatchNormalization))
    assert trainable_params(cbn) - trainable_params(g) == 2 * 5 * channels  # a scale and a shift per class
    z = np.random.default_rng(0).standard_normal((3, 8)).astype("float32")
    c = np.array([[0, 1], [1, 2], [-1, 0]], "int32")
    np.testing.assert_allclose(cbn([z, c]), g([z, c]), atol=1e-6)  # zero-initialised: no modulation yet


@pytest.mark.parametrize("architecture", ["dcgan", "tutorial"])
def test_a_saved_conditioned_generator_knows_its_conditions(tmp_path, architecture):
    from facegan.generation import conditioning_of, inputs, load_generator
    from facegan.models import build_models

    spec = _spec()
    g, _ = build_models(architecture=architecture, resolution=16 if architecture == "dcgan" else 32, latent_dim=8,
                        width=4, conditions=spec.names, conditioning=spec.to_json())
    for suffix in ("keras", "h5"):
        g.save(tmp_path / f"g.{suffix}")
        loaded = load_generator(tmp_path / f"g.{suffix}")
        assert conditioning_of(loaded) == spec
        batch = inputs(loaded, np.zeros((6, 8), "float32"), seed=0, fixed={0: 1})
        assert (batch[1][:, 0] == 1).all()
        np.testing.assert_allclose(loaded(batch), g(batch), atol=1e-6)


def test_an_unconditioned_generator_refuses_conditions(tmp_path):
    from facegan.errors import FaceganError
    from facegan.generation import conditioning_of, inputs
    from facegan.models import build_models

    g, _ = build_models(architecture="dcgan", resolution=16, latent_dim=8, width=4)
    assert conditioning_of(g) is None
    z = np.zeros((2, 8), "float32")
    assert inputs(g, z, seed=0) is z
    with pytest.raises(FaceganError, match="not conditioned"):
        inputs(g, z, seed=0, fixed={0: 1})


# ------------------------------------------------------------------------------------------ the readers


def _index_labels(data):
    """Each image's 'conditions' = (its record number, its mean pixel): a batch's rows must match its images."""
    from facegan.reader import read_in_order

    images = read_in_order(data["files"], 32)
    return images, np.stack([np.arange(len(images)), images.reshape(len(images), -1).mean(1).astype(int)], 1)


@pytest.mark.parametrize("mirror", [False, True])
def test_streamed_conditions_belong_to_their_images_in_the_unconditioned_order(tiny_shards, mirror):
    from facegan.reader import StreamingBatches

    images, labels = _index_labels(tiny_shards)
    sizes = [s["images"] for s in tiny_shards["stats_json"]["shards"]]
    plain = StreamingBatches(tiny_shards["files"], 32, 16, 3, 64, mirror, len(images) // 16)
    labelled = StreamingBatches(tiny_shards["files"], 32, 16, 3, 64, mirror, len(images) // 16, labels=labels,
                                shard_sizes=sizes)
    for epoch in (0, 1):
        for x, (y, c) in zip(plain.epoch(epoch, skip=1), labelled.epoch(epoch, skip=1)):
            np.testing.assert_array_equal(x.numpy(), y.numpy())
            real = images[c.numpy()[:, 0]].astype(np.float32) / 127.5 - 1.0
            flipped = real[:, :, ::-1]
            got = y.numpy()
            assert all(np.allclose(got[i], real[i], atol=1e-6) or (mirror and np.allclose(got[i], flipped[i],
                                                                                          atol=1e-6))
                       for i in range(len(got)))


def test_the_memory_readers_conditions_belong_to_their_images(tiny_shards):
    from facegan.reader import MemoryBatches

    images, labels = _index_labels(tiny_shards)
    batches = MemoryBatches(tiny_shards["files"], 32, 16, 3, True, len(images) // 16, labels=labels)
    for x, c in batches.epoch(1):
        rows = images[c.numpy()[:, 0]]
        assert all(np.array_equal(x.numpy()[i], rows[i]) or np.array_equal(x.numpy()[i], rows[i][:, ::-1])
                   for i in range(len(rows)))


# ------------------------------------------------------------------------------------------ the step


def _gan(classify=False):
    from facegan.gan import GAN
    from facegan.models import build_models

    spec = _spec()
    g, d = build_models(architecture="dcgan", resolution=16, latent_dim=8, width=4, conditions=spec.names,
                        conditioning=spec.to_json(), classify_conditions=classify)
    return GAN(g, d, 8, seed=3, conditioning=spec), spec


def test_generated_faces_conditions_follow_the_joint_and_replicas_slice_one_draw():
    gan, spec = _gan()
    whole = gan.fake_conditions(5, 4000, per_replica=4000, replica_id=0).numpy()
    combos, counts = np.unique(whole, axis=0, return_counts=True)
    assert {tuple(c): n / 4000 for c, n in zip(combos, counts)} == pytest.approx(dict(zip(spec.combos, spec.shares)),
                                                                                abs=0.03)
    halves = [gan.fake_conditions(5, 4000, per_replica=2000, replica_id=r).numpy() for r in (0, 1)]
    np.testing.assert_array_equal(np.concatenate(halves), whole)
    assert not np.array_equal(gan.fake_conditions(6, 4000, per_replica=4000, replica_id=0).numpy(), whole)


def test_the_auxiliary_loss_is_each_attributes_cross_entropy_and_skips_unknown_values():
    import tensorflow as tf

    gan, _ = _gan(classify=True)
    assert gan.class_slices == [(1, 3), (3, 6)]
    outputs = np.random.default_rng(0).standard_normal((3, 6)).astype("float32")
    labels = np.array([[1, 2], [0, -1], [-1, -1]], "int32")

    def ce(logits, k):
        return -(logits[k] - np.log(np.exp(logits).sum()))

    expected = [ce(outputs[0, 1:3], 1) + ce(outputs[0, 3:6], 2), ce(outputs[1, 1:3], 0), 0.0]
    np.testing.assert_allclose(gan._class_loss(tf.constant(outputs), tf.constant(labels)).numpy(), expected,
                               rtol=1e-5, atol=1e-6)


def test_the_attributes_chart_shows_obedience_beside_coverage(tmp_path):
    import json

    from PIL import Image

    from facegan.charts import attributes_chart

    per = {"glasses": {"real": {"no": 0.8, "yes": 0.2}, "generated": {"no": 0.9, "yes": 0.1}, "tvd": 0.1}}
    metrics = {"attributes": {"per_attribute": per, "joint_coverage": 0.9, "joint_attributes": ["glasses"],
                              "real_vs_real": {"joint_coverage": 1.0}},
               "obedience": {"attributes": {"glasses": {"no": {"asked": 5, "obeyed": 0.8},
                                                        "yes": {"asked": 5, "obeyed": 0.6}}}}}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    assert attributes_chart(tmp_path / "metrics.json", tmp_path / "a.png") == 1
    with Image.open(tmp_path / "a.png") as img:
        assert img.size[0] > 800  # two panels side by side


def test_train_class_weight_scales_the_auxiliary_term_of_both_losses():
    """One step from the same weights and batch at weights 1, 2 and 3: both losses move linearly with the
    weight (the adversarial part stays, the class part scales)."""
    import keras
    import tensorflow as tf

    from facegan.gan import make_optimizer

    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(-1, 1, (4, 16, 16, 3)).astype("float32"))
    conditions = tf.constant([[0, 1], [1, 0], [0, 2], [1, -1]], tf.int32)
    losses = []
    for weight in (1.0, 2.0, 3.0):
        keras.utils.set_random_seed(7)
        gan, _ = _gan(classify=True)
        gan.class_weight = weight
        gan.compile(d_optimizer=make_optimizer(1e-4, 0.5, policy="float32"),
                    g_optimizer=make_optimizer(1e-4, 0.5, policy="float32"))
        logs = gan.train_step((images, conditions))
        losses.append((float(logs["step_d_loss"]), float(logs["step_g_loss"])))
    (d1, g1), (d2, g2), (d3, g3) = losses
    assert d2 - d1 > 0.1 and g2 - g1 > 0.1
    assert d3 - d2 == pytest.approx(d2 - d1, rel=1e-4) and g3 - g2 == pytest.approx(g2 - g1, rel=1e-4)


def test_generator_class_weight_scales_only_the_generators_auxiliary_term():
    import keras
    import tensorflow as tf

    from facegan.gan import make_optimizer

    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(-1, 1, (4, 16, 16, 3)).astype("float32"))
    conditions = tf.constant([[0, 1], [1, 0], [0, 2], [1, -1]], tf.int32)
    losses = []
    for g_weight in (1.0, 3.0):
        keras.utils.set_random_seed(7)
        gan, _ = _gan(classify=True)
        gan.generator_class_weight = g_weight
        gan.compile(d_optimizer=make_optimizer(1e-4, 0.5, policy="float32"),
                    g_optimizer=make_optimizer(1e-4, 0.5, policy="float32"))
        logs = gan.train_step((images, conditions))
        losses.append((float(logs["step_d_loss"]), float(logs["step_g_loss"])))
    assert losses[1][0] == pytest.approx(losses[0][0], rel=1e-6)
    assert losses[1][1] - losses[0][1] > 0.1


def test_balanced_weights_make_every_value_count_alike_and_average_one():
    from facegan.conditioning import Conditioning

    spec = Conditioning(("style", "glasses"), (("bald", "short", "long"), ("no", "yes")),
                        ((0, 0), (1, 0), (1, 1), (-1, 1)), (0.1, 0.6, 0.2, 0.1))
    style, glasses = spec.balanced_weights()
    # style known on 90% of the images: bald 1/9, short 8/9, long never seen (weight 1)
    np.testing.assert_allclose(style, [1 / (2 * (1 / 9)), 1 / (2 * (8 / 9)), 1.0], rtol=1e-6)
    np.testing.assert_allclose(glasses, [1 / (2 * 0.7), 1 / (2 * 0.3)], rtol=1e-6)
    assert 0.7 * glasses[0] + 0.3 * glasses[1] == pytest.approx(1.0)


def test_class_balance_weights_each_examples_cross_entropy_by_its_value():
    import tensorflow as tf

    from facegan.gan import GAN

    base, spec = _gan(classify=True)
    balanced = GAN(base.generator, base.discriminator, 8, seed=3, conditioning=spec, class_balance=True)
    outputs = tf.constant(np.random.default_rng(1).normal(size=(4, 6)).astype("float32"))
    conditions = tf.constant([[0, 1], [1, 0], [0, 2], [1, -1]], tf.int32)
    plain = base._class_loss(outputs, conditions).numpy()
    weighted = balanced._class_loss(outputs, conditions).numpy()
    w0, w1 = spec.balanced_weights()
    parts = [tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.maximum(conditions[:, i], 0),
                                                            logits=outputs[:, s:e]).numpy()
             for i, (s, e) in enumerate(base.class_slices)]
    known = conditions.numpy() >= 0
    assert not np.allclose(w0, 1.0) and not np.allclose(w1, 1.0)
    expected = (parts[0] * w0[conditions.numpy()[:, 0]] * known[:, 0]
                + parts[1] * w1[np.maximum(conditions.numpy()[:, 1], 0)] * known[:, 1])
    np.testing.assert_allclose(weighted, expected, rtol=1e-5)
    np.testing.assert_allclose(plain, parts[0] * known[:, 0] + parts[1] * known[:, 1], rtol=1e-5)


def test_attribute_weights_scale_one_attributes_cross_entropy():
    import tensorflow as tf

    from facegan.gan import GAN

    base, spec = _gan(classify=True)
    weighted = GAN(base.generator, base.discriminator, 8, seed=3, conditioning=spec,
                   attribute_weights={"glasses": 4.0})
    outputs = tf.constant(np.random.default_rng(2).normal(size=(4, 6)).astype("float32"))
    conditions = tf.constant([[0, 1], [1, 0], [0, 2], [1, -1]], tf.int32)
    parts = [tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.maximum(conditions[:, i], 0),
                                                            logits=outputs[:, s:e]).numpy()
             for i, (s, e) in enumerate(base.class_slices)]
    known = conditions.numpy() >= 0
    np.testing.assert_allclose(weighted._class_loss(outputs, conditions).numpy(),
                               4.0 * parts[0] * known[:, 0] + parts[1] * known[:, 1], rtol=1e-5)


def test_attribute_weights_name_conditioned_attributes_or_stop_at_parse_time(tmp_path):
    from facegan.options import TrainOptions

    opts = TrainOptions.from_config({"conditions": ["hair_style", "glasses"]}, {"attribute_weights": {"glasses": 4}})
    assert opts.gan.attribute_weights == (("glasses", 4.0),)
    assert "attribute_weights" in opts.fingerprint("x", "float32")
    assert "attribute_weights" not in TrainOptions.from_config({}, {}).fingerprint("x", "float32")
    config = {"dataset": {"source": "synthetic"}, "model": {"conditions": ["glasses"]},
              "train": {"attribute_weights": {"glasses": 4}},
              "sweep": {"a": {}, "b": {"train": {"attribute_weights": {"hair_style": 2}}}}}
    with pytest.raises(ConditionError, match=r"^sweep run b: train.attribute_weights names hair_style, not among "
                                             r"model.conditions \(glasses\)$"):
        check_conditions(config, tmp_path / "none")
    with pytest.raises(ConditionError, match="not among model.conditions"):
        check_conditions({"dataset": {"source": "synthetic"}, "train": {"attribute_weights": {"glasses": 2}}},
                         tmp_path / "none")


def test_a_packing_discriminator_beside_conditions_stops_at_parse_time(tmp_path):
    config = {"dataset": {"source": "synthetic"}, "model": {"pack": 2},
              "sweep": {"a": {}, "c": {"model": {"conditions": ["glasses"]}}}}
    with pytest.raises(ConditionError, match=r"^sweep run c: model.pack 2 does not work with model.conditions"):
        check_conditions(config, tmp_path / "none")
    check_conditions({"dataset": {"source": "synthetic"}, "model": {"pack": 2}}, tmp_path / "none")


def test_dcgan_only_layers_asked_of_the_tutorial_architecture_stop_at_parse_time(tmp_path):
    config = {"dataset": {"source": "synthetic"}, "model": {"architecture": "tutorial", "g_refine": 8}}
    with pytest.raises(ConditionError, match=r"^model.g_refine is a layer of model.architecture: dcgan, not tutorial"):
        check_conditions(config, tmp_path / "none")
    check_conditions({**config, "model": {"architecture": "dcgan", "g_refine": 8}}, tmp_path / "none")
