"""The generator exported for serving: SavedModel and ONNX give the Keras model's faces (issue 23)."""

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def generator_file(tmp_path_factory):
    import keras

    from facegan.models import build_models

    keras.utils.set_random_seed(0)
    g, _ = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4, upsample="nearest")
    path = tmp_path_factory.mktemp("g") / "generator.keras"
    g.save(path)
    return path


def test_both_exports_give_the_keras_models_images(generator_file, tmp_path, capsys):
    import onnxruntime
    import tensorflow as tf

    from facegan.cli import main
    from facegan.generation import load_generator

    assert main(["export-model", "--model", str(generator_file), "--out", str(tmp_path / "serve")]) == 0
    report = json.loads((tmp_path / "serve" / "serving.json").read_text())
    assert report["onnx_max_abs_diff"] <= 1e-4 and report["savedmodel_max_abs_diff"] <= 1e-4
    assert report["inputs"] == {"z": ["batch", 8]} and report["outputs"] == {"images": ["batch", 32, 32, 3]}
    z = np.random.default_rng(5).normal(size=(3, 8)).astype(np.float32)  # other noise than the export's check
    expected = np.asarray(load_generator(generator_file)(z, training=False))
    session = onnxruntime.InferenceSession(str(tmp_path / "serve" / "generator.onnx"),
                                           providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["z"] and [o.name for o in session.get_outputs()] == ["images"]
    assert np.abs(session.run(["images"], {"z": z})[0] - expected).max() <= 1e-4
    served = tf.saved_model.load(str(tmp_path / "serve" / "generator_savedmodel"))
    assert np.abs(served.signatures["serving_default"](tf.constant(z))["output_0"].numpy() - expected).max() <= 1e-4
    assert '"onnx_max_abs_diff"' in capsys.readouterr().out


def test_an_export_that_differs_is_refused_and_not_written(generator_file, tmp_path, monkeypatch):
    import facegan.serving as serving
    from facegan.errors import FaceganError
    from facegan.generation import load_generator

    monkeypatch.setattr(serving, "TOLERANCE", -1.0)  # no export can be this exact: the check must refuse it
    with pytest.raises(FaceganError, match="the exported ONNX model differs from the Keras generator"):
        serving.export_onnx(load_generator(generator_file), tmp_path / "g.onnx")
    assert not list(tmp_path.iterdir())
