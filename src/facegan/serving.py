"""The trained generator for serving stacks: a TensorFlow SavedModel and an ONNX file, each checked against
the Keras model's output on the same noise.

Both take noise ``z`` (float32, ``(batch, latent_dim)``) and return ``images`` in [-1, 1], NHWC, like
the ``.keras`` file; a conditioned generator also takes ``conditions`` (int32, ``(batch, attributes)``:
each attribute's class index, in ``serving.json``'s order). The SavedModel's ``serve`` / ``serving_default``
signatures come from Keras's own ``model.export``; the ONNX file from tf2onnx (opset 17), checked with onnxruntime.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np

from facegan.errors import FaceganError
from facegan.files import atomic_output

log = logging.getLogger(__name__)

TOLERANCE = 1e-4  # largest absolute difference from the Keras model allowed, on images in [-1, 1]
OPSET = 17
CHECK_BATCH = 16


def _check_inputs(generator, seed: int) -> list[np.ndarray]:
    """The inputs the exports are checked on: noise, and conditions drawn from the data for a conditioned one."""
    from facegan.generation import inputs, latent_dim, noise

    batch = inputs(generator, noise(CHECK_BATCH, latent_dim(generator), seed), seed)
    return batch if isinstance(batch, list) else [batch]


def _keras_images(generator, batch: list[np.ndarray]) -> np.ndarray:
    return np.asarray(generator(batch if len(batch) > 1 else batch[0], training=False))


def _verdict(kind: str, got: np.ndarray, expected: np.ndarray) -> float:
    diff = float(np.abs(got - expected).max())
    if not diff <= TOLERANCE:
        raise FaceganError(f"the exported {kind} differs from the Keras generator by {diff:.2e} (more than "
                           f"{TOLERANCE:g}) on the same noise: not written")
    return diff


def export_savedmodel(generator, out_dir: str | Path, seed: int = 0) -> float:
    """Write the SavedModel folder; returns its largest difference from the Keras model."""
    import tensorflow as tf

    out = Path(out_dir)
    tmp = out.with_name(f".{out.name}.part")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        generator.export(str(tmp), format="tf_saved_model", verbose=False)
        batch = _check_inputs(generator, seed)
        served = tf.saved_model.load(str(tmp))  # held: its variables go with it
        got = served.serve([tf.constant(b) for b in batch] if len(batch) > 1 else tf.constant(batch[0]))
        diff = _verdict("SavedModel", got.numpy(), _keras_images(generator, batch))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return diff


def _rename_output(model, name: str) -> None:
    old = model.graph.output[0].name
    for node in model.graph.node:
        node.output[:] = [name if o == old else o for o in node.output]
    model.graph.output[0].name = name


def export_onnx(generator, out_path: str | Path, seed: int = 0) -> float:
    """Write the ONNX file; returns its largest difference from the Keras model (onnxruntime on the CPU)."""
    import onnx
    import onnxruntime
    import tensorflow as tf
    import tf2onnx

    from facegan.generation import latent_dim

    spec = [tf.TensorSpec([None, latent_dim(generator)], tf.float32, name="z")]
    if len(generator.inputs) > 1:
        spec.append(tf.TensorSpec([None, generator.inputs[1].shape[-1]], tf.int32, name="conditions"))

        def images(z, conditions):
            return generator([z, conditions], training=False)
    else:
        def images(z):
            return generator(z, training=False)

    model, _ = tf2onnx.convert.from_function(tf.function(images), input_signature=spec, opset=OPSET)
    _rename_output(model, "images")
    onnx.checker.check_model(model)
    batch = _check_inputs(generator, seed)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = dict(zip([i.name for i in session.get_inputs()], batch))
    diff = _verdict("ONNX model", session.run(["images"], feed)[0], _keras_images(generator, batch))
    with atomic_output(out_path) as tmp:
        onnx.save(model, str(tmp))
    return diff


def export_generator(generator_path: str | Path, *, savedmodel_dir: str | Path, onnx_path: str | Path,
                     seed: int = 0) -> dict:
    """Both exports of the generator saved at ``generator_path``; returns what was checked."""
    from facegan.generation import conditioning_of, latent_dim, load_generator

    generator = load_generator(generator_path)
    spec = conditioning_of(generator)
    report = {"savedmodel": str(savedmodel_dir), "savedmodel_max_abs_diff": export_savedmodel(generator,
                                                                                              savedmodel_dir, seed),
              "onnx": str(onnx_path), "onnx_max_abs_diff": export_onnx(generator, onnx_path, seed),
              "onnx_opset": OPSET, "checked_on": f"{CHECK_BATCH} noise vectors (seed {seed}), tolerance {TOLERANCE:g}",
              "inputs": {"z": ["batch", latent_dim(generator)],
                         **({"conditions": ["batch", len(spec.names)]} if spec else {})},
              **({"conditions": {n: list(c) for n, c in zip(spec.names, spec.classes)}} if spec else {}),
              "outputs": {"images": ["batch", *map(int, generator.output_shape[1:])]}}
    log.info("exported the generator for serving: SavedModel %s (max abs diff %.1e), ONNX %s (max abs diff %.1e)",
             savedmodel_dir, report["savedmodel_max_abs_diff"], onnx_path, report["onnx_max_abs_diff"])
    return report
