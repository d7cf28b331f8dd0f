"""Writing TFRecord files of ``tf.train.Example`` records without importing TensorFlow.

Shard jobs run many at once; importing TensorFlow costs each of them 3-4 s and ~500 MB, more than
the work itself for a 12k-image shard. The TFRecord container and the ``Example`` protobuf are
simple and stable formats, so they are encoded here by hand; ``tests/test_tfrecord.py`` checks the
bytes against ``tf.io.TFRecordWriter`` and ``tf.train.Example`` so the encoding cannot drift.

Record layout (tensorflow/core/lib/io/record_writer.cc):
    uint64 length, uint32 masked_crc32c(length), bytes data, uint32 masked_crc32c(data)
"""

from __future__ import annotations

import struct
from pathlib import Path

import google_crc32c

from facegan.files import atomic_output

_MASK_DELTA = 0xA282EAD8


def masked_crc32c(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def frame_record(data: bytes) -> bytes:
    """One TFRecord frame around ``data``."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def _bytes_feature(value: bytes) -> bytes:
    # Feature { bytes_list = 1 { value = 1 } }
    return _field(1, _field(1, value))


def _int64_feature(values: list[int]) -> bytes:
    # Feature { int64_list = 3 { packed repeated int64 value = 1 } }
    packed = b"".join(_varint(v & 0xFFFFFFFFFFFFFFFF) for v in values)
    return _field(3, _field(1, packed))


def encode_example(features: dict[str, bytes | int | list[int]]) -> bytes:
    """Serialize a ``tf.train.Example`` with bytes or int64 features, keys in sorted order."""
    entries = b""
    for key in sorted(features):
        value = features[key]
        if isinstance(value, bytes):
            feature = _bytes_feature(value)
        elif isinstance(value, int):
            feature = _int64_feature([value])
        else:
            feature = _int64_feature(list(value))
        # Features.feature is map<string, Feature>: entries { key = 1, value = 2 } in field 1.
        entries += _field(1, _field(1, key.encode()) + _field(2, feature))
    return _field(1, entries)  # Example.features = 1


def image_example_encoder(height: int, width: int, channels: int = 3):
    """A fast encoder for ``{"image": pixels, "height": height, "width": width}`` Examples.

    All records of a shard share one layout; only the pixel bytes (of fixed length) differ, so the
    bytes before and after them are computed once and each record is one concatenation. Gives
    exactly ``encode_example``'s bytes.
    """
    n = height * width * channels
    a = encode_example({"image": b"\x00" * n, "height": height, "width": width})
    b = encode_example({"image": b"\x01" * n, "height": height, "width": width})
    start = next(i for i in range(len(a)) if a[i] != b[i])
    prefix, suffix = a[:start], a[start + n:]

    def encode(pixels: bytes) -> bytes:
        if len(pixels) != n:
            raise ValueError(f"expected {n} pixel bytes ({height}x{width}x{channels}), got {len(pixels)}")
        return prefix + pixels + suffix

    return encode


class TFRecordWriter:
    """Writes framed records to ``path`` atomically: a fresh temporary file is renamed on ``close()``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._output = atomic_output(self.path)
        self._tmp = self._output.__enter__()
        self._file = open(self._tmp, "wb")

    def write(self, record: bytes) -> None:
        self._file.write(frame_record(record))

    def close(self) -> None:
        self._file.close()
        self._output.__exit__(None, None, None)

    def abort(self) -> None:
        self._file.close()
        self._output.__exit__(RuntimeError, RuntimeError("aborted"), None)

    def __enter__(self) -> "TFRecordWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
