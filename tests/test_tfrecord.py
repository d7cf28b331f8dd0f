"""The hand-written TFRecord/Example encoder must produce exactly TensorFlow's bytes."""

import numpy as np
import tensorflow as tf

from facegan.tfrecord import TFRecordWriter, encode_example


def _tf_example(image: bytes, height: int, width: int) -> bytes:
    return tf.train.Example(features=tf.train.Features(feature={
        "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image])),
        "height": tf.train.Feature(int64_list=tf.train.Int64List(value=[height])),
        "width": tf.train.Feature(int64_list=tf.train.Int64List(value=[width])),
    })).SerializeToString(deterministic=True)


def test_example_encoding_parses_identically_in_tensorflow():
    image = np.arange(32 * 32 * 3, dtype=np.uint8).tobytes()
    ours = encode_example({"image": image, "height": 32, "width": 300})
    parsed = tf.train.Example.FromString(ours)
    assert parsed.features.feature["image"].bytes_list.value[0] == image
    assert parsed.features.feature["width"].int64_list.value[0] == 300
    assert ours == _tf_example(image, 32, 300)


def test_record_framing_matches_tf_writer_byte_for_byte(tmp_path):
    records = [encode_example({"image": bytes([i]) * (100 * i + 1), "height": i, "width": i}) for i in range(5)]
    with TFRecordWriter(tmp_path / "ours.tfrecord") as w:
        for r in records:
            w.write(r)
    with tf.io.TFRecordWriter(str(tmp_path / "tf.tfrecord")) as w:
        for r in records:
            w.write(r)
    assert (tmp_path / "ours.tfrecord").read_bytes() == (tmp_path / "tf.tfrecord").read_bytes()
    read = [bytes(r.numpy()) for r in tf.data.TFRecordDataset(str(tmp_path / "ours.tfrecord"))]
    assert read == records


def test_fast_image_encoder_equals_generic_encoding():
    from facegan.tfrecord import image_example_encoder

    pixels = np.random.default_rng(0).integers(0, 256, 64 * 64 * 3, dtype=np.uint8).tobytes()
    assert image_example_encoder(64, 64)(pixels) == encode_example({"image": pixels, "height": 64, "width": 64})
