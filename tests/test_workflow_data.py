"""The data stage run through Snakemake itself, as a user runs it."""

import json
import os
import re
import zipfile

import pytest

pytestmark = pytest.mark.slow


def _shard_checksums(workdir):
    return [s["sha256"] for s in json.loads((workdir / "results/data/stats.json").read_text())["shards"]]


def test_demo_data_stage_is_identical_for_any_core_count(tmp_path, snakemake, make_config):
    cfg = make_config()
    snakemake(tmp_path / "c1", cfg, "--cores", "1", "data")
    snakemake(tmp_path / "c2", cfg, "--cores", "2", "data")
    assert _shard_checksums(tmp_path / "c1") == _shard_checksums(tmp_path / "c2")
    for name in ("train-00000-of-00003.tfrecord", "train-00002-of-00003.tfrecord"):
        a = (tmp_path / "c1/results/data/shards" / name).read_bytes()
        assert a == (tmp_path / "c2/results/data/shards" / name).read_bytes()
    stats = json.loads((tmp_path / "c1/results/data/stats.json").read_text())
    assert (stats["found"], stats["kept"], stats["skipped"], stats["resolution"]) == (96, 96, 0, 32)
    manifest = (tmp_path / "c1/results/data/manifest.tsv").read_text().splitlines()
    assert manifest[0] == "path\tsplit\tshard" and len(manifest) == 97
    assert "facegan.progress" in (tmp_path / "c1/logs/download.log").read_text()
    assert (tmp_path / "c1/logs/shard/00000.log").exists()


def test_local_celeba_zip_with_bad_files_is_counted(tmp_path, snakemake, make_config, make_celeba_zip):
    archive = make_celeba_zip(tmp_path / "celeba-dataset.zip", n=10)
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("img_align_celeba/img_align_celeba/000011.jpg", b"")
        zf.writestr("img_align_celeba/img_align_celeba/000012.jpg", b"<html>not found</html>")
    cfg = make_config(dataset={"name": "celeba", "source": "local", "path": str(archive), "split": "all"},
                      preprocess={"shards": 2})
    snakemake(tmp_path / "w", cfg, "--cores", "2", "data")
    stats = json.loads((tmp_path / "w/results/data/stats.json").read_text())
    assert (stats["found"], stats["kept"], stats["skipped"]) == (12, 10, 2)
    assert {s["path"].rsplit("/", 1)[1] for s in stats["skips"]} == {"000011.jpg", "000012.jpg"}


def test_schema_error_names_the_bad_key(tmp_path, snakemake, make_config):
    cfg = make_config(preprocess={"resolution": 48}, dataset={"synthetic_count": -3})
    proc = snakemake(tmp_path, cfg, "-n", check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "preprocess.resolution: 48 is not one of [32, 64, 128]" in out
    assert "dataset.synthetic_count: -3 is less than the minimum of 1" in out


def test_unknown_key_is_rejected(tmp_path, snakemake, make_config):
    proc = snakemake(tmp_path, make_config(preprocess={"resolutoin": 64}), "-n", check=False)
    assert proc.returncode != 0 and "unknown key preprocess.resolutoin" in proc.stdout + proc.stderr


def test_celeba_dry_run_shows_full_data_dag_without_credentials_or_network(tmp_path, snakemake, repo):
    """No Kaggle credentials at all (an empty HOME, no KAGGLE_* variables): planning must not need them."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_")} | {"HOME": str(home)}
    proc = snakemake(tmp_path / "w", None, "data", "-n", "--configfile", str(repo / "config/celeba.yaml"), env=env)
    jobs = dict(re.findall(r"(?m)^(\w+)\s+(\d+)$", proc.stdout))
    assert {k: int(v) for k, v in jobs.items() if k != "total"} == {"download": 1, "index": 1, "shard": 16,
                                                                    "data_stats": 1, "data": 1}
    assert not (home / ".kaggle").exists() and not (tmp_path / "w" / "resources").exists()  # nothing fetched


def test_missing_kaggle_credentials_fail_the_download_rule_clearly(tmp_path, snakemake, make_config):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_")} | {"HOME": str(home)}
    proc = snakemake(tmp_path, make_config(dataset={"name": "celeba", "source": "kaggle"}), "--cores", "1", "data",
                     check=False, env=env)
    assert proc.returncode != 0
    log = (tmp_path / "logs/download.log").read_text()
    assert "Kaggle credentials not found" in log and "KAGGLE_API_TOKEN" in log
    assert "Traceback" not in log
    assert not (tmp_path / "resources" / "celeba").exists()
