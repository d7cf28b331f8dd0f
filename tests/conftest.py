"""Shared fixtures: tiny data sets in CelebA's layouts and a helper that runs the real workflow."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def face_jpeg_bytes(i: int, size=(178, 218)) -> bytes:
    """A small deterministic CelebA-sized JPEG (a coloured gradient that differs per image)."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([(xx * 255 // w + 20 * i) % 256, (yy * 255 // h) % 256, np.full_like(xx, (37 * i) % 256)], -1)
    buf = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8)).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def write_celeba_zip(path: Path, n: int = 12, nested: bool = True) -> Path:
    """A zip in the layout of Kaggle's celeba-dataset.zip (images nested twice, CSVs at the top)."""
    folder = "img_align_celeba/img_align_celeba/" if nested else "img_align_celeba/"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(1, n + 1):
            zf.writestr(f"{folder}{i:06d}.jpg", face_jpeg_bytes(i))
        rows = ["image_id,partition"] + [f"{i:06d}.jpg,{0 if i <= n - 4 else (1 if i <= n - 2 else 2)}"
                                         for i in range(1, n + 1)]
        zf.writestr("list_eval_partition.csv", "\n".join(rows) + "\n")
        zf.writestr("list_attr_celeba.csv", "image_id,Smiling\n" + "".join(f"{i:06d}.jpg,1\n" for i in range(1, n + 1)))
    return path


def tiny_config(**overrides) -> dict:
    """The smallest useful demo: 32x32 synthetic faces, few images."""
    cfg = {
        "seed": 0,
        "dataset": {"name": "tiny", "source": "synthetic", "synthetic_count": 96},
        "preprocess": {"resolution": 32, "crop": 160, "shards": 3},
    }
    for key, value in overrides.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg


def run_snakemake(workdir: Path, config: dict | None, *args: str, check: bool = True,
                  timeout: int = 900) -> subprocess.CompletedProcess:
    """Run the real workflow in ``workdir`` with ``config`` written to ``workdir/config.yaml``."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), *args]
    if config is not None:  # last: --configfile takes several values and would swallow a target after it
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
        cmd += ["--configfile", str(workdir / "config.yaml")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=workdir)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


@pytest.fixture
def celeba_zip(tmp_path) -> Path:
    return write_celeba_zip(tmp_path / "celeba-dataset.zip")


def build_tiny_shards(root: Path, count: int = 96, shards: int = 2, resolution: int = 32) -> dict:
    """The data stage's functions run directly (no Snakemake): synthetic faces -> shards + stats.json."""
    import json

    from facegan.datastats import collect
    from facegan.index import build_index
    from facegan.preprocess import PreprocessOptions, write_shard
    from facegan.sources import fetch

    raw = fetch("synthetic", root / "resources" / "tiny", synthetic_count=count, seed=0)
    entries, counts = build_index(raw, shards=shards)
    files, reports = [], []
    for s in range(shards):
        out = root / "results" / "data" / "shards" / f"train-{s:05d}-of-{shards:05d}.tfrecord"
        rep = write_shard([e for e in entries if e.shard == s], s, out, PreprocessOptions(resolution, 160))
        files.append(str(out))
        reports.append(rep.to_json())
    stats_path = root / "results" / "data" / "stats.json"
    collect(counts, reports, {"resolution": resolution}, root / "results/data/manifest.tsv", stats_path)
    return {"files": files, "stats": str(stats_path), "stats_json": json.loads(stats_path.read_text())}


@pytest.fixture(scope="session")
def tiny_shards(tmp_path_factory) -> dict:
    return build_tiny_shards(tmp_path_factory.mktemp("tiny_data"))


TINY_TRAIN = {"architecture": "dcgan", "latent_dim": 16, "width": 8, "resolution": 32, "seed": 0, "epochs": 2,
              "batch_size": 16, "shuffle_buffer": 64}


def run_training(workdir: Path, data: dict, timeout: int = 600, check: bool = True, **options):
    """Run facegan.steps.train in a fresh process (device setup must precede TensorFlow's start)."""
    import json

    workdir.mkdir(parents=True, exist_ok=True)
    args = {"shard_files": data["files"], "stats_path": data["stats"], "out_dir": str(workdir / "train"),
            "state_dir": str(workdir / "train_state"), "options": {**TINY_TRAIN, **options}}
    (workdir / "args.json").write_text(json.dumps(args))
    code = ("import json, sys; from facegan.steps import train; "
            f"train(**json.load(open({str(workdir / 'args.json')!r})), log_file={str(workdir / 'train.log')!r})")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"training failed ({proc.returncode}):\n{proc.stderr[-6000:]}")
    return proc


def generator_weights(path: Path) -> list:
    import keras

    return [w for w in keras.models.load_model(path).get_weights()]
