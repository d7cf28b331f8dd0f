"""The tiny workflow through profiles/slurm on a real (one-node) SLURM cluster.

Start the cluster first: ``tests/slurm/cluster.sh start`` (root, Debian; .ci/run does it and sets
FACEGAN_REQUIRE_SYSTEM_TOOLS=1, so in CI this test fails rather than skips when SLURM is missing).
"""

import json
import os
import re
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def config(make_config):
    return make_config(model={"width": 8, "latent_dim": 16},
                       train={"epochs": 1, "batch_size": 16, "gpus": 2, "shuffle_buffer": 64})


@pytest.fixture(scope="module")
def slurm_args(repo):
    # The test cluster has no accounting (so squeue, not sacct), 2 CPUs and ~20 GB: small jobs, fast polling.
    return ["--workflow-profile", str(repo / "profiles" / "slurm"), "--slurm-status-command", "squeue",
            "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "1",
            "--slurm-no-account", "--jobs", "4", "--latency-wait", "5",
            "--default-resources", "mem_mb=1000", "runtime=30",
            "--set-resources", "train:mem_mb=3000", "train:cpus_per_gpu=1", "train:runtime=30",
            "--set-threads", "train=2"]


def _cluster_up() -> bool:
    if not shutil.which("sinfo"):
        return False
    proc = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=20)
    return proc.returncode == 0 and bool(re.search(r"idle|mix|alloc", proc.stdout))


@pytest.fixture(scope="module")
def cluster():
    if not _cluster_up():
        if os.environ.get("FACEGAN_REQUIRE_SYSTEM_TOOLS"):
            pytest.fail("FACEGAN_REQUIRE_SYSTEM_TOOLS is set but no SLURM cluster answers "
                        "(tests/slurm/cluster.sh start)")
        pytest.skip("no SLURM cluster; start one with: sudo tests/slurm/cluster.sh start")


def test_workflow_runs_as_slurm_jobs_and_matches_a_local_run(cluster, tmp_path, snakemake, config, slurm_args):
    slurm = snakemake(tmp_path / "slurm", config, "train", *slurm_args, timeout=900)
    out = slurm.stdout + slurm.stderr
    job_ids = re.findall(r"SLURM jobid (\d+)", out) or re.findall(r"SLURM run ID[^\n]*?(\d+)", out)
    assert len(job_ids) >= 6, out[-3000:]  # download, index, 3 shards, data_stats, train

    train_log = (tmp_path / "slurm" / "logs" / "train.log").read_text()
    # SLURM granted the 2 GPUs train asked for (--gpus=2) and exported them; with no real GPU behind
    # the fake cards TensorFlow trains on the CPU.
    assert re.search(r"SLURM job \d+: using the GPUs SLURM assigned \(CUDA_VISIBLE_DEVICES=0,1\)", train_log)
    assert "training on CPU" in train_log

    snakemake(tmp_path / "local", config, "train", "--cores", "2", "--set-threads", "train=2")
    stats = [json.loads((tmp_path / w / "results/data/stats.json").read_text()) for w in ("slurm", "local")]
    assert stats[0]["dataset_sha256"] == stats[1]["dataset_sha256"]
    import keras
    import numpy as np

    weights = [keras.models.load_model(tmp_path / w / "results/train/generator.keras").get_weights()
               for w in ("slurm", "local")]
    assert all(np.array_equal(a, b) for a, b in zip(*weights))
