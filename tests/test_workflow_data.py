"""The data stage run through Snakemake itself, as a user runs it."""

import json
import os

import pytest

from conftest import REPO, run_snakemake, tiny_config, write_celeba_zip

pytestmark = pytest.mark.slow


def _shard_checksums(workdir):
    return [s["sha256"] for s in json.loads((workdir / "results/data/stats.json").read_text())["shards"]]


def test_demo_data_stage_is_identical_for_any_core_count(tmp_path):
    cfg = tiny_config()
    run_snakemake(tmp_path / "c1", cfg, "--cores", "1", "data")
    run_snakemake(tmp_path / "c2", cfg, "--cores", "2", "data")
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


def test_local_celeba_zip_with_bad_files_is_counted(tmp_path):
    archive = write_celeba_zip(tmp_path / "celeba-dataset.zip", n=10)
    import zipfile

    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("img_align_celeba/img_align_celeba/000011.jpg", b"")
        zf.writestr("img_align_celeba/img_align_celeba/000012.jpg", b"<html>not found</html>")
    cfg = tiny_config(dataset={"name": "celeba", "source": "local", "path": str(archive), "split": "all"},
                      preprocess={"shards": 2})
    run_snakemake(tmp_path / "w", cfg, "--cores", "2", "data")
    stats = json.loads((tmp_path / "w/results/data/stats.json").read_text())
    assert (stats["found"], stats["kept"], stats["skipped"]) == (12, 10, 2)
    assert {s["path"].rsplit("/", 1)[1] for s in stats["skips"]} == {"000011.jpg", "000012.jpg"}


def test_schema_error_names_the_bad_key(tmp_path):
    cfg = tiny_config(preprocess={"resolution": 48}, dataset={"synthetic_count": -3})
    proc = run_snakemake(tmp_path, cfg, "-n", check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "preprocess.resolution: 48 is not one of [32, 64, 128]" in out
    assert "dataset.synthetic_count: -3 is less than the minimum of 1" in out


def test_unknown_key_is_rejected(tmp_path):
    cfg = tiny_config(preprocess={"resolutoin": 64})
    proc = run_snakemake(tmp_path, cfg, "-n", check=False)
    assert proc.returncode != 0 and "unknown key preprocess.resolutoin" in proc.stdout + proc.stderr


def test_celeba_dry_run_shows_full_data_dag_without_credentials_or_network(tmp_path):
    env_home = tmp_path / "home"
    env_home.mkdir()
    proc = run_snakemake(tmp_path / "w", None, "data", "-n", "--configfile", str(REPO / "config/celeba.yaml"))
    out = proc.stdout
    assert "download" in out and "index" in out and "data_stats" in out
    job_counts = {line.split()[0]: int(line.split()[1]) for line in out.splitlines()
                  if len(line.split()) == 2 and line.split()[1].isdigit()}
    assert job_counts["shard"] == 16 and job_counts["download"] == 1
    assert not (tmp_path / "w" / "resources").exists()


def test_missing_kaggle_credentials_fail_the_download_rule_clearly(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_")}
    env["HOME"] = str(home)
    cfg = tiny_config(dataset={"name": "celeba", "source": "kaggle"})
    import subprocess, sys, yaml

    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path),
                           "--configfile", str(tmp_path / "c.yaml"), "--cores", "1", "data"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode != 0
    log = (tmp_path / "logs/download.log").read_text()
    assert "Kaggle credentials not found" in log and "KAGGLE_API_TOKEN" in log
    assert "Traceback" not in log
    assert not (tmp_path / "resources" / "celeba").exists()
