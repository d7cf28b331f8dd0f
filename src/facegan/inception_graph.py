"""The FID paper's Inception graph: found, fetched once into a cache, checked, and run for pool_3 features.

Standard FID (Heusel et al. 2017; the ``bioinf-jku/TTUR`` code that papers' figures come from) uses
``classify_image_graph_def.pb`` of TensorFlow's ``inception-2015-12-05.tgz``: images of any size, float
0..255 NHWC, fed to ``ExpandDims:0`` (the graph resizes them to 299x299 itself), 2048-d features read at
``pool_3:0``. Like pytorch-fid, clean-fid and torch-fidelity, facegan downloads it at first use into a
cache (``$FACEGAN_CACHE``, else ``~/.cache/facegan``), atomically; ``evaluate.inception_graph`` names a
copy instead. No published checksum exists for this file: its SHA-256 is recorded beside it when it is
first fetched (or first used) and checked on every later use, and the graph must hold both tensors.
"""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from facegan.errors import FaceganError
from facegan.files import atomic_output, sha256_file, write_text

log = logging.getLogger(__name__)

GRAPH_URL = "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
GRAPH_FILE = "classify_image_graph_def.pb"
INPUT, OUTPUT = "ExpandDims:0", "pool_3:0"
TIMEOUT_S = 30


class InceptionGraphError(FaceganError):
    """The Inception graph is missing, cannot be fetched or is not the right file; FID/KID are skipped."""


def cache_dir() -> Path:
    return Path(os.environ.get("FACEGAN_CACHE") or Path.home() / ".cache" / "facegan")


def fetch_graph(dest: Path, url: str | None = None) -> Path:
    """Download the archive from ``url`` (default :data:`GRAPH_URL`) and put its graph at ``dest``, atomically."""
    url = url or GRAPH_URL
    dest.parent.mkdir(parents=True, exist_ok=True)
    log.info("fetching the FID Inception graph from %s (89 MB, once) into %s", url, dest.parent)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        archive = Path(tmp) / "inception.tgz"
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(archive, "wb") as f:
                shutil.copyfileobj(response, f, 1 << 20)
        except (urllib.error.URLError, OSError) as exc:
            raise InceptionGraphError(
                f"FID/KID skipped: cannot download {url} ({getattr(exc, 'reason', exc)}). On a machine that is "
                f"online, download inception-2015-12-05.tgz, extract {GRAPH_FILE} and put it at {dest}, or set "
                f"evaluate.inception_graph to its path") from exc
        try:
            with tarfile.open(archive) as tf:
                member = next((m for m in tf.getmembers() if Path(m.name).name == GRAPH_FILE and m.isfile()), None)
                if member is None:
                    raise InceptionGraphError(f"FID/KID skipped: {url} holds no {GRAPH_FILE}")
                with tf.extractfile(member) as src, atomic_output(dest) as out, open(out, "wb") as f:
                    shutil.copyfileobj(src, f, 1 << 20)
        except tarfile.TarError as exc:
            raise InceptionGraphError(f"FID/KID skipped: {url} is not a readable .tgz ({exc})") from exc
    return dest


def _load_graph_def(path: Path):
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(path.read_bytes())
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise InceptionGraphError(f"FID/KID skipped: {path} is not a TensorFlow GraphDef ({exc}); fetch it "
                                  f"again (remove it) or fix evaluate.inception_graph") from exc
    names = {node.name for node in graph_def.node}
    missing = [t for t in (INPUT, OUTPUT) if t.split(":")[0] not in names]
    if missing:
        raise InceptionGraphError(f"FID/KID skipped: {path} has no {' or '.join(missing)}: it is not the FID "
                                  f"paper's {GRAPH_FILE}")
    return graph_def


def check_graph(path: Path) -> None:
    """The file's SHA-256 against the one recorded beside it (recorded now when there is none)."""
    record = path.with_name(path.name + ".sha256")
    digest = sha256_file(path)
    if record.exists():
        expected = record.read_text().split()[0] if record.read_text().split() else ""
        if expected != digest:
            raise InceptionGraphError(f"FID/KID skipped: {path} has SHA-256 {digest}, but {expected} was recorded "
                                      f"when it was first used: the file changed. Remove both to fetch it again")
    else:
        write_text(record, f"{digest}  {path.name}\n")


def find_graph(configured: str = "") -> Path:
    """The graph to use: ``configured`` (which must exist), else the cached copy, fetched when missing."""
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise InceptionGraphError(f"FID/KID skipped: evaluate.inception_graph {configured!r} does not exist "
                                      f"(it should be {GRAPH_FILE} from inception-2015-12-05.tgz)")
    else:
        path = cache_dir() / GRAPH_FILE
        if not path.is_file():
            fetch_graph(path)
    check_graph(path)
    return path


def graph_features(path: Path, images_uint8: np.ndarray, batch_size: int = 50) -> np.ndarray:
    """pool_3 features ``(n, 2048)`` of ``images_uint8`` ``(n, H, W, 3)``, as TTUR computes them."""
    import tensorflow as tf

    graph_def = _load_graph_def(Path(path))

    def imported(x):
        (out,) = tf.compat.v1.import_graph_def(graph_def, input_map={INPUT: x}, return_elements=[OUTPUT],
                                               name="FID_Inception_Net")
        return out

    run = tf.compat.v1.wrap_function(imported, [tf.TensorSpec([None, None, None, 3], tf.float32)])
    feats = [run(tf.constant(images_uint8[i:i + batch_size], tf.float32)).numpy().reshape(
        len(images_uint8[i:i + batch_size]), -1) for i in range(0, len(images_uint8), batch_size)]
    return np.concatenate(feats).astype(np.float64)
