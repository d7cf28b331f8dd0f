"""Standard FID: the Inception graph fetched (from a loopback server), checked and run; the arithmetic."""

import functools
import http.server
import io
import socket
import tarfile
import threading

import numpy as np
import pytest

from facegan import inception_graph as ig
from facegan.metrics import frechet_distance, kid


def small_graph_bytes() -> bytes:
    """A GraphDef with the real graph's tensor names: ExpandDims:0 in (any size, 0..255), pool_3:0 out."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32)])
    def net(x):
        x = tf.identity(x, name="ExpandDims")
        y = tf.image.resize(x, (8, 8))  # resizes inside, as the real graph does
        y = tf.concat([tf.reduce_mean(y, axis=[1, 2], keepdims=True), tf.reduce_max(y, axis=[1, 2], keepdims=True),
                       tf.reduce_min(y, axis=[1, 2], keepdims=True)], axis=-1)
        return tf.identity(y, name="pool_3")

    return net.get_concrete_function().graph.as_graph_def().SerializeToString()


def expected_features(images: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    y = tf.image.resize(tf.constant(images, tf.float32), (8, 8)).numpy()
    return np.concatenate([y.mean((1, 2)), y.max((1, 2)), y.min((1, 2))], -1)


@pytest.fixture(scope="module")
def archive_server(tmp_path_factory):
    """inception-2015-12-05.tgz's layout (the graph beside other files) served on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("www")
    with tarfile.open(folder / "inception-2015-12-05.tgz", "w:gz") as tf:
        for name, data in (("imagenet_synset_to_human_label_map.txt", b"n00004475\torganism\n"),
                           ("classify_image_graph_def.pb", small_graph_bytes())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/inception-2015-12-05.tgz"
    server.shutdown()


def test_the_graph_is_fetched_once_into_the_cache_and_gives_its_pool_3_features(archive_server, tmp_path,
                                                                                 monkeypatch):
    monkeypatch.setenv("FACEGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(ig, "GRAPH_URL", archive_server)
    path = ig.find_graph()
    assert path == tmp_path / "cache" / ig.GRAPH_FILE and path.with_name(path.name + ".sha256").exists()
    assert sorted(p.name for p in path.parent.iterdir()) == [ig.GRAPH_FILE, ig.GRAPH_FILE + ".sha256"]
    monkeypatch.setattr(ig, "GRAPH_URL", "http://127.0.0.1:9/never-asked")
    assert ig.find_graph() == path  # cached: not fetched again
    images = np.random.default_rng(0).integers(0, 256, (7, 64, 64, 3)).astype(np.uint8)
    feats = ig.graph_features(path, images, batch_size=3)
    assert feats.shape == (7, 9) and np.allclose(feats, expected_features(images), atol=1e-3)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_the_message_names_the_file_and_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(ig, "GRAPH_URL", f"http://127.0.0.1:{_closed_port()}/inception-2015-12-05.tgz")
    with pytest.raises(ig.InceptionGraphError) as err:
        ig.find_graph()
    message = str(err.value)
    assert "cannot download" in message and "inception-2015-12-05.tgz" in message and "\n" not in message
    assert str(tmp_path / "cache" / ig.GRAPH_FILE) in message and "evaluate.inception_graph" in message
    assert not list((tmp_path / "cache").iterdir())  # nothing half-written


def test_a_changed_or_wrong_graph_is_refused(archive_server, tmp_path, monkeypatch):
    monkeypatch.setenv("FACEGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(ig, "GRAPH_URL", archive_server)
    path = ig.find_graph()
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ig.InceptionGraphError, match="the file changed"):
        ig.find_graph()
    other = tmp_path / "other.pb"
    other.write_bytes(b"not a graph at all")
    with pytest.raises(ig.InceptionGraphError, match="is not a TensorFlow GraphDef|has no ExpandDims:0"):
        ig.graph_features(other, np.zeros((1, 8, 8, 3), np.uint8))
    with pytest.raises(ig.InceptionGraphError, match="does not exist"):
        ig.find_graph(str(tmp_path / "missing.pb"))


def test_frechet_distance_matches_an_independent_computation_on_known_gaussians():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    s1, s2 = a @ a.T + np.eye(5), b @ b.T + 0.5 * np.eye(5)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    # Tr sqrt(S1 S2) = sum of the square roots of S1 S2's eigenvalues (real and positive for SPD S1, S2)
    tr_sqrt = np.sum(np.sqrt(np.linalg.eigvals(s1 @ s2).real))
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
    assert np.isclose(frechet_distance(mu1=mu1, sigma1=s1, mu2=mu2, sigma2=s2), expected, rtol=1e-9)
    # Samples of two known Gaussians: the sample FID approaches the closed form
    x = rng.multivariate_normal(mu1, s1, 200_000)
    y = rng.multivariate_normal(mu2, s2, 200_000)
    sample = frechet_distance(mu1=x.mean(0), sigma1=np.cov(x, rowvar=False), mu2=y.mean(0), sigma2=np.cov(y,
                                                                                                          rowvar=False))
    assert abs(sample - expected) / expected < 0.01


def test_kid_matches_a_direct_unbiased_mmd():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(40, 6)), rng.normal(0.3, 1.0, size=(40, 6))

    def k(a, b):
        return (a @ b / 6 + 1) ** 3

    m = 40
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    value, _ = kid(x, y, subsets=1, subset_size=40)
    assert np.isclose(value, xx + yy - 2 * xy)


def test_the_evaluation_reports_fid_with_its_image_count(archive_server, tiny_shards, tmp_path, monkeypatch):
    import keras

    from facegan.evaluation import evaluate_generator
    from facegan.models import build_models
    from facegan.real_reference import compute_real_reference

    monkeypatch.setenv("FACEGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(ig, "GRAPH_URL", archive_server)
    compute_real_reference(shard_files=tiny_shards["files"], stats_path=tiny_shards["stats"], resolution=32, n=48,
                           seed=0, out_npz=tmp_path / "ref.npz", fid=True)
    keras.utils.set_random_seed(0)
    g, _ = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4)
    g.save(tmp_path / "g.keras")
    options = {"train_options": {"model": {"architecture": "dcgan", "resolution": 32, "width": 8, "latent_dim": 4}}}
    (tmp_path / "opts.json").write_text(__import__("json").dumps(options))
    result = evaluate_generator(str(tmp_path / "g.keras"), training_options_path=tmp_path / "opts.json",
                                reference_path=tmp_path / "ref.npz", n=48, seed=0, out_json=tmp_path / "metrics.json")
    assert np.isfinite(result["fid"]) and result["fid"] > 0 and result["fid_images"] == 48
    assert "of 48 generated vs 48 real images" in result["fid_note"] and "biased upward" in result["fid_note"]
