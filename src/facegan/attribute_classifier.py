"""A small attribute classifier trained on the real images, to read the data's attributes off generated faces.

Images are first averaged down to 32x32. One convolutional trunk (four stride-2 3x3 convolutions
with BatchNorm and ReLU, global average pooling) and one softmax head per attribute (binary and
categorical alike), trained for 25 epochs with Adam (cosine decay from 2e-3), the sum of the heads'
cross-entropies on every known label (unknown ones count 0) and random x-flips, in mixed precision
where the hardware computes it natively (``auto``). A fixed fifth of the images (every 5th in manifest order) is held
out: each attribute's **balanced accuracy** on it (the mean recall over its classes) says whether
the classifier reads that attribute reliably, and only attributes at or above
``evaluate.attribute_threshold`` are compared. The real-data check is recorded too: the predicted
frequencies of two disjoint halves of the real images, compared as a generator would be (what a
perfect generator reads)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from facegan import attribute_stats
from facegan import attributes as attr_lib
from facegan.files import atomic_output, write_json

log = logging.getLogger(__name__)

SIDE = 32  # images are averaged down to 32x32 first: as accurate on the demo as 64x64, and 3x faster
HOLD_OUT_EVERY = 5
EPOCHS = 25
BATCH = 64
LEARNING_RATE = 2e-3  # Adam, cosine decay to 0 over the run
LOGITS = "logits"  # the layer of every head's logits


def shrink(images_uint8: np.ndarray) -> np.ndarray:
    """Images averaged over k x k blocks down to SIDE x SIDE (k = side / SIDE), as float32 in [-1, 1]."""
    n, h = images_uint8.shape[:2]
    k = max(1, h // SIDE)
    x = images_uint8.reshape(n, h // k, k, h // k, k, 3).astype(np.float32).mean(axis=(2, 4))
    return x / 127.5 - 1.0


def build_classifier(resolution: int, attrs: list[attr_lib.Attribute], width: int = 32):
    import keras
    from keras import layers

    image = keras.Input((resolution, resolution, 3), name="image")
    x = layers.RandomFlip("horizontal")(image)  # training only: faces are left-right symmetric
    for k in range(4):
        x = layers.Conv2D(width * 2 ** min(k, 2), 3, strides=2, padding="same", use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Dropout(0.2)(layers.GlobalAveragePooling2D()(x))
    logits = [layers.Dense(len(a.classes), name=f"{a.name}_{LOGITS}", dtype="float32")(x) for a in attrs]
    outputs = {a.name: layers.Softmax(name=a.name, dtype="float32")(z) for a, z in zip(attrs, logits)}
    return keras.Model(image, outputs, name="attribute_classifier")


def joint_cross_entropy(sizes: list[int]):
    """The loss of heads side by side (attribute i's logits in ``sizes[i]`` columns): per face, the sum over its
    known attributes (labels >= 0; unknown ones are -1) of the cross-entropy of the true class."""
    from keras import ops

    start = np.cumsum([0, *sizes[:-1]])
    # (attributes, most classes): each attribute's columns, padded with a column of -1e9 (probability 0)
    columns = np.full((len(sizes), max(sizes)), sum(sizes), np.int32)
    for i, k in enumerate(sizes):
        columns[i, :k] = start[i] + np.arange(k)

    def loss(labels, logits):
        labels = ops.cast(labels, "int32")
        padded = ops.concatenate([logits, ops.full((ops.shape(logits)[0], 1), -1e9, logits.dtype)], axis=1)
        log_p = ops.log_softmax(ops.take(padded, columns, axis=1), axis=-1)
        picked = ops.take_along_axis(log_p, ops.expand_dims(ops.maximum(labels, 0), -1), axis=2)[..., 0]
        return -ops.sum(picked * ops.cast(labels >= 0, logits.dtype), axis=1)

    return loss


def class_recalls(true: np.ndarray, predicted: np.ndarray, classes: int) -> list[float | None]:
    """Each class's recall among the true labels (unknown ones, < 0, are skipped): the share of real faces with
    it read as it, i.e. what a generator that obeys perfectly would read; None for a class absent from ``true``."""
    return [float((predicted[true == c] == c).mean()) if (true == c).any() else None for c in range(classes)]


def balanced_accuracy(true: np.ndarray, predicted: np.ndarray, classes: int) -> float:
    """Mean recall over the classes present among the known (>= 0) true labels."""
    recalls = [r for r in class_recalls(true, predicted, classes) if r is not None]
    return float(np.mean(recalls)) if recalls else float("nan")


def predict(model, images_uint8: np.ndarray, attrs: list[attr_lib.Attribute], *, batch: int = 256) -> np.ndarray:
    """(images, attributes) class indices, with the unknown rules applied (e.g. no hair colour if bald)."""
    out = []
    for i in range(0, len(images_uint8), batch):
        probs = model(shrink(images_uint8[i:i + batch]), training=False)
        out.append(np.stack([np.argmax(np.asarray(probs[a.name]), axis=-1) for a in attrs], axis=1))
    labels = np.concatenate(out) if out else np.zeros((0, len(attrs)), np.int64)
    return attr_lib.apply_unknown(attrs, labels)


def train_classifier(images: np.ndarray, labels: np.ndarray, attrs: list[attr_lib.Attribute], *, seed: int,
                     threshold: float, out_dir: str | Path, epochs: int = EPOCHS,
                     precision: bool | str = "auto") -> dict:
    """Train, measure on the held-out fifth, save ``model.keras`` and ``report.json`` in ``out_dir``."""
    import keras
    import tensorflow as tf

    from facegan.devices import precision_policy
    from facegan.runtime import dtype_policy

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    held = np.arange(len(images)) % HOLD_OUT_EVERY == 0
    kind = "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
    with dtype_policy(precision_policy(precision, kind=kind)):  # auto: mixed precision where the hardware is native
        model = build_classifier(min(SIDE, images.shape[1]), attrs)
    steps = epochs * -(-int((~held).sum()) // BATCH)
    # One loss over the heads' logits side by side: a Keras loss per head costs ~1 s of tracing (CelebA has 40)
    heads = [model.get_layer(f"{a.name}_{LOGITS}").output for a in attrs]
    trainer = keras.Model(model.input, keras.layers.Concatenate(dtype="float32")(heads) if len(heads) > 1 else heads[0])
    trainer.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)),
                    loss=joint_cross_entropy([len(a.classes) for a in attrs]), jit_compile=False)
    trainer.fit(shrink(images[~held]), labels[~held].astype(np.int32), batch_size=BATCH, epochs=epochs, verbose=0,
                shuffle=True)
    predicted = predict(model, images[held], attrs)
    truth = attr_lib.apply_unknown(attrs, labels[held])
    accuracy = {a.name: balanced_accuracy(truth[:, i], predicted[:, i], len(a.classes)) for i, a in enumerate(attrs)}
    recall = {a.name: dict(zip(a.classes, class_recalls(truth[:, i], predicted[:, i], len(a.classes))))
              for i, a in enumerate(attrs)}
    reliable = [a.name for a in attrs if accuracy[a.name] >= threshold]
    # What a perfect generator reads: predictions on two disjoint halves of the real images.
    all_predicted = predict(model, images, attrs)
    half = len(images) // 2
    reliable_attrs = [a for a in attrs if a.name in reliable]
    cols = [i for i, a in enumerate(attrs) if a.name in reliable]
    joint = attribute_stats.choose_joint(reliable_attrs, all_predicted[:, cols]) if reliable_attrs else []
    real_vs_real = attribute_stats.compare(reliable_attrs, all_predicted[:half, cols],
                                           all_predicted[half:2 * half, cols], joint=joint) if reliable_attrs else None
    report = {"attributes": [a.to_json() for a in attrs], "balanced_accuracy": accuracy, "recall": recall,
              "threshold": threshold,
              "reliable": reliable, "joint_attributes": joint, "images": len(images),
              "held_out": int(held.sum()), "real_vs_real": real_vs_real}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_output(out / "model.keras") as tmp:
        model.save(tmp)
    write_json(out / "report.json", report)
    log.info("attribute classifier: balanced accuracy %s; reliable (>= %.2f): %s",
             ", ".join(f"{k} {v:.2f}" for k, v in accuracy.items()), threshold, ", ".join(reliable) or "none")
    if real_vs_real:
        log.info("real vs real: joint coverage %.3f over %s, largest distance %.3f", real_vs_real["joint_coverage"],
                 "+".join(joint), real_vs_real["max_tvd"])
    return report


def skip_report(out_dir: str | Path, note: str) -> dict:
    """The classifier's report when the data carry no attributes: evaluation then skips the comparison."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = {"attributes": [], "skipped": note}
    write_json(out / "report.json", report)
    log.info("%s", note)
    return report


def load(classifier_dir: str | Path):
    """(model or None, report) from an ``attribute_classifier`` folder."""
    folder = Path(classifier_dir)
    report = json.loads((folder / "report.json").read_text())
    if report.get("skipped"):
        return None, report
    import keras

    return keras.models.load_model(folder / "model.keras"), report


def compare_generated(model, report: dict, *, real_images: np.ndarray, fake_images: np.ndarray) -> dict:
    """The generated faces' attributes against the real images', on the reliable attributes."""
    attrs = [attr_lib.Attribute.from_json(a) for a in report["attributes"] if a["name"] in report["reliable"]]
    if not attrs:
        return {"skipped": f"no attribute reaches the classifier's threshold ({report['threshold']}): "
                           f"balanced accuracy {report['balanced_accuracy']}"}
    all_attrs = [attr_lib.Attribute.from_json(a) for a in report["attributes"]]
    cols = [i for i, a in enumerate(all_attrs) if a.name in report["reliable"]]
    real = predict(model, real_images, all_attrs)[:, cols]
    fake = predict(model, fake_images, all_attrs)[:, cols]
    result = attribute_stats.compare(attrs, real, fake, joint=report["joint_attributes"])
    result["real_vs_real"] = {k: report["real_vs_real"][k] for k in ("joint_coverage", "max_tvd")}
    result["classifier_balanced_accuracy"] = {a.name: report["balanced_accuracy"][a.name] for a in attrs}
    return result
