"""Fixtures: tiny data sets in CelebA's layouts, tiny configs, and runners for the real workflow and
training jobs (each in its own process, through one subprocess helper)."""

from __future__ import annotations

import atexit
import io
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from facegan.runtime import configure_tensorflow
from facegan.train_outputs import train_output_paths

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
configure_tensorflow()  # the tests are an entry point: the same TensorFlow settings as the workflow

# The tiny training run: width 8, 32x32, 96 images, batch 16 (6 steps per epoch), with the canonical DCGAN
# step (config/canonical-dcgan.yaml: no EMA, no augmentation), so the determinism and resume tests run the
# step they always ran. Precision pinned to float32, so tests that compare numbers do not depend on whether
# the CPU has bfloat16 instructions.
TINY_MODEL = {"architecture": "dcgan", "latent_dim": 16, "width": 8}
CANONICAL_TRAIN = yaml.safe_load((REPO / "config" / "canonical-dcgan.yaml").read_text())["train"]
TINY_TRAIN = {**CANONICAL_TRAIN, "epochs": 2, "batch_size": 16, "shuffle_buffer": 64, "mixed_precision": False,
              "gpus": 0, "steps_per_execution": 1}


def run_python(args: list[str], *, timeout: int = 900, check: bool = True, cwd: Path | None = None,
               env: dict | None = None) -> subprocess.CompletedProcess:
    """``python <args>`` in a fresh process (TensorFlow's device set-up must precede its start)."""
    proc = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"python {' '.join(map(str, args))[:300]} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def face_jpeg_bytes(i: int, size=(178, 218)) -> bytes:
    """A small deterministic CelebA-sized JPEG (a coloured gradient that differs per image)."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([(xx * 255 // w + 20 * i) % 256, (yy * 255 // h) % 256, np.full_like(xx, (37 * i) % 256)], -1)
    buf = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8)).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def write_celeba_zip(path: Path, n: int = 12, nested: bool = True, all_attributes: bool = False) -> Path:
    """A zip in the layout of Kaggle's celeba-dataset.zip (images nested twice, CSVs at the top); the attribute
    table has only Smiling, or with ``all_attributes`` CelebA's real header of 40 names (seeded -1/1 values)."""
    folder = "img_align_celeba/img_align_celeba/" if nested else "img_align_celeba/"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(1, n + 1):
            zf.writestr(f"{folder}{i:06d}.jpg", face_jpeg_bytes(i))
        rows = ["image_id,partition"] + [f"{i:06d}.jpg,{0 if i <= n - 4 else (1 if i <= n - 2 else 2)}"
                                         for i in range(1, n + 1)]
        zf.writestr("list_eval_partition.csv", "\n".join(rows) + "\n")
        if all_attributes:
            from facegan.attributes import CELEBA_ATTRIBUTES

            values = np.random.default_rng(0).choice(["-1", "1"], size=(n, len(CELEBA_ATTRIBUTES)))
            zf.writestr("list_attr_celeba.csv", ",".join(["image_id", *CELEBA_ATTRIBUTES]) + "\n" + "".join(
                ",".join([f"{i:06d}.jpg", *values[i - 1]]) + "\n" for i in range(1, n + 1)))
        else:
            zf.writestr("list_attr_celeba.csv",
                        "image_id,Smiling\n" + "".join(f"{i:06d}.jpg,1\n" for i in range(1, n + 1)))
    return path


def tiny_config(**overrides) -> dict:
    """The smallest useful workflow config: 96 synthetic faces at 32x32, float32; blocks in ``overrides``
    are merged one level deep."""
    cfg = {
        "seed": 0,
        "dataset": {"name": "tiny", "source": "synthetic", "synthetic_count": 96},
        "preprocess": {"resolution": 32, "crop": 160, "shards": 3},
        "train": {"mixed_precision": False},
        "evaluate": {"fid": False},  # tests/test_fid.py runs FID on a small graph; no test reaches the network
    }
    for key, value in overrides.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg


def run_snakemake(workdir: Path, config: dict | None, *args: str, check: bool = True, timeout: int = 900,
                  env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real workflow in ``workdir`` with ``config`` written to ``workdir/config.yaml``."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = ["-m", "snakemake", "-s", REPO / "Snakefile", "-d", workdir, *args]
    if config is not None:  # last: --configfile takes several values and would swallow a target after it
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
        cmd += ["--configfile", workdir / "config.yaml"]
    return run_python(cmd, timeout=timeout, check=check, cwd=workdir, env=env)


def build_tiny_shards(root: Path, count: int = 96, shards: int = 2, resolution: int = 32) -> dict:
    """The data stage's functions run directly (no Snakemake): synthetic faces -> shards, stats.json and the
    attribute files."""
    from facegan.attributes import write_attribute_files
    from facegan.datastats import collect
    from facegan.index import build_index
    from facegan.preprocess import PreprocessOptions, write_shard
    from facegan.sources import fetch

    raw = fetch("synthetic", root / "resources" / "tiny", synthetic_count=count, seed=0)
    entries, counts = build_index(raw, shards=shards)
    files, reports = [], []
    for s in range(shards):
        out = root / "results" / "data" / "shards" / f"train-{s:05d}-of-{shards:05d}.tfrecord"
        rep = write_shard([e for e in entries if e.shard == s], s, out, opts=PreprocessOptions(resolution, 160))
        files.append(str(out))
        reports.append(rep.to_json())
    stats_path = root / "results" / "data" / "stats.json"
    collect(counts, reports, {"resolution": resolution}, manifest_path=root / "results/data/manifest.tsv",
            stats_path=stats_path)
    attributes, spec = root / "results" / "data" / "attributes.tsv", root / "results" / "data" / "attributes.json"
    write_attribute_files(counts.get("attribute_table"), [p for r in reports for p, _ in r["kept"]],
                          out_tsv=attributes, out_json=spec)
    return {"files": files, "stats": str(stats_path), "stats_json": json.loads(stats_path.read_text()),
            "attributes": str(attributes), "attribute_spec": str(spec)}


def run_training(workdir: Path, data: dict, *, timeout: int = 600, check: bool = True, model: dict | None = None,
                 sleep_per_step: float = 0.0, poison_after_epoch: int | None = None, wait: bool = True,
                 reference: str | None = None, env: dict | None = None, resolution: int = 32,
                 **train_keys):
    """The train step (``facegan.steps.train.train``) in a fresh process on ``data`` (:func:`build_tiny_shards`),
    writing ``workdir/train/``, ``workdir/train_state/`` and ``workdir/train.log``. ``train_keys`` override
    :data:`TINY_TRAIN`; ``sleep_per_step`` and ``poison_after_epoch`` add test callbacks (train_job.py).
    Runs in a child of the session's job server (tests/train_job.py), or with ``env`` (which replaces the
    environment) in a fresh process. ``wait=False`` returns the running job (``pid``, ``poll()``, ``wait()``).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "train"
    spec = {
        "step": {"shards": data["files"], "stats": data["stats"], **train_output_paths(out),
                 "model": {**TINY_MODEL, **(model or {})},
                 "training": {**TINY_TRAIN, **train_keys}, "resolution": resolution, "seed": 0,
                 "state_dir": str(workdir / "train_state"), "reference": reference,
                 **({"attributes": data["attributes"], "attribute_spec": data["attribute_spec"]}
                    if (model or {}).get("conditions") else {})},
        "log_file": str(workdir / "train.log"),
        "sleep_per_step": sleep_per_step,
        "poison_after_epoch": poison_after_epoch,
    }
    (workdir / "train_job.json").write_text(json.dumps(spec))
    if env is not None:  # an environment of its own: a process of its own
        args = [HERE / "train_job.py", workdir / "train_job.json"]
        if not wait:
            return subprocess.Popen([sys.executable, *map(str, args)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, env=env)
        return run_python(args, timeout=timeout, check=check, env=env)
    job = JOB_SERVER.start(workdir / "train_job.json", workdir)
    if not wait:
        return job
    job.wait(timeout)
    if check and job.returncode != 0:
        raise AssertionError(f"training job in {workdir} failed ({job.returncode}):\n{job.stdout[-4000:]}\n"
                             f"{job.stderr[-6000:]}\n{_tail(workdir / 'train.log')}")
    return job


def kill_when(job, path: Path, timeout: float = 300) -> None:
    """SIGKILL the running ``job`` as soon as ``path`` exists (it must appear before the job ends)."""
    deadline = time.time() + timeout
    while time.time() < deadline and not path.exists():
        assert job.poll() is None, f"training ended before {path.name} appeared"
        time.sleep(0.05)
    assert path.exists(), f"{path} did not appear within {timeout} s"
    os.kill(job.pid, signal.SIGKILL)
    job.wait()


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


class TrainJob:
    """A job the job server forked: ``pid``, ``poll()``, ``wait()`` and ``returncode`` as on a ``Popen``."""

    def __init__(self, conn: socket.socket, workdir: Path):
        self.conn, self.workdir = conn, workdir
        self.buffer = b""
        self.pid = int(self._line(None))
        self.returncode = None

    def _line(self, timeout: float | None) -> str | None:
        """The next line the server sends, or None when none came within ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([self.conn], [], [], left)[0]:
                return None
            chunk = self.conn.recv(256)
            if not chunk:
                raise RuntimeError(f"the job server closed the connection of the job in {self.workdir}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def poll(self):
        if self.returncode is None:
            line = self._line(0)
            if line is not None:
                self.returncode = int(line)
                self.conn.close()
        return self.returncode

    def wait(self, timeout: float | None = None):
        if self.returncode is None:
            line = self._line(timeout)
            if line is None:
                os.kill(self.pid, signal.SIGKILL)
                raise subprocess.TimeoutExpired(f"training job in {self.workdir}", timeout)
            self.returncode = int(line)
            self.conn.close()
        return self.returncode

    @property
    def stdout(self) -> str:
        return _tail(self.workdir / "train_job.out", 10**7)

    @property
    def stderr(self) -> str:
        return _tail(self.workdir / "train_job.err", 10**7)


class JobServer:
    """tests/train_job.py --serve, started at the first training job of the session (TensorFlow imported once)."""

    def __init__(self):
        self.proc = None
        self.socket = None

    def _start_server(self) -> None:
        self.socket = Path(tempfile.mkdtemp(prefix="facegan-jobs-")) / "server.sock"
        self.proc = subprocess.Popen([sys.executable, str(HERE / "train_job.py"), "--serve", str(self.socket)],
                                     stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the training job server did not start")
        atexit.register(self.stop)

    def start(self, spec: Path, workdir: Path) -> TrainJob:
        if self.proc is None or self.proc.poll() is not None:
            self._start_server()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(str(self.socket))
        request = {"spec": str(spec), "stdout": str(workdir / "train_job.out"),
                   "stderr": str(workdir / "train_job.err")}
        conn.sendall((json.dumps(request) + "\n").encode())
        return TrainJob(conn, workdir)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


JOB_SERVER = JobServer()


def model_weights(path: Path) -> list:
    import keras

    import facegan.layers  # noqa: F401 - a conditioned model holds facegan's ConditionEncoding

    return keras.models.load_model(path).get_weights()


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def python():
    """:func:`run_python`: ``python(args, timeout=, check=, cwd=, env=)``."""
    return run_python


@pytest.fixture(scope="session")
def face_jpeg():
    """:func:`face_jpeg_bytes`: ``face_jpeg(i)`` is a deterministic CelebA-sized JPEG."""
    return face_jpeg_bytes


@pytest.fixture(scope="session")
def make_celeba_zip():
    """:func:`write_celeba_zip`: ``make_celeba_zip(path, n=12, nested=True)``."""
    return write_celeba_zip


@pytest.fixture
def celeba_zip(tmp_path) -> Path:
    return write_celeba_zip(tmp_path / "celeba-dataset.zip")


@pytest.fixture(scope="session")
def make_config():
    """:func:`tiny_config`: ``make_config(model={...}, train={...})``."""
    return tiny_config


@pytest.fixture(scope="session")
def snakemake():
    """:func:`run_snakemake`: ``snakemake(workdir, config, *args, check=True)``."""
    return run_snakemake


@pytest.fixture(scope="session")
def tiny_shards(tmp_path_factory) -> dict:
    return build_tiny_shards(tmp_path_factory.mktemp("tiny_data"))


@pytest.fixture(scope="session")
def train_job():
    """:func:`run_training`: ``train_job(workdir, tiny_shards, epochs=3, ...)``."""
    yield run_training
    JOB_SERVER.stop()


@pytest.fixture(scope="session")
def weights_of():
    """:func:`model_weights`: the weights of a saved model."""
    return model_weights


# Modules by how long they take, longest first (pyproject's addopts hands whole modules to the two workers in
# this order): the SLURM tests, which mostly wait on the cluster, start first, so the other worker computes
# meanwhile; the longest of the rest follow, meant to keep a long module from running alone at the end (on one
# 2-core AVX2 machine this order read 13.4 minutes and xdist's own 13.0: no gain shown yet).
LONGEST_FIRST = ("test_slurm.py", "test_workflow_full.py", "test_training.py", "test_sweep.py",
                 "test_workflow_conditions.py", "test_checkpoint_faults.py", "test_distributed.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        module = item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
        return LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # a stable sort: within a rank, collection order
