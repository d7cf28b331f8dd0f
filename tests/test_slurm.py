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
    # one shard: one SLURM job of each kind (each job costs a Snakemake and TensorFlow start on the node)
    return make_config(model={"width": 8, "latent_dim": 16}, preprocess={"shards": 1},
                       train={"epochs": 1, "batch_size": 16, "gpus": 2, "shuffle_buffer": 64})


@pytest.fixture(scope="module")
def slurm_args(repo):
    # The test cluster has no accounting (so squeue, not sacct), 2 CPUs and ~20 GB: small jobs, fast polling.
    return ["--workflow-profile", str(repo / "profiles" / "slurm"), "--slurm-status-command", "squeue",
            "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "1",
            "--slurm-no-account", "--jobs", "4", "--latency-wait", "5",
            "--default-resources", "mem_mb=1000", "runtime=30",
            "--set-resources", "train:mem_mb=3000", "train:cpus_per_gpu=1", "train:runtime=30",
            "sweep_train:mem_mb=3000", "sweep_train:cpus_per_gpu=1", "sweep_train:runtime=30",
            "--set-threads", "train=2", "sweep_train=2", "attribute_classifier=2"]


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
    # train.gpus 2: SLURM grants the 2 (fake) GPUs (--gpus=2) and exports them, but no TensorFlow GPU is
    # behind them: the train job stops with one line instead of spending a GPU allocation on the CPU.
    # --retries 0: the profile resubmits a failed job once, which here would only fail again.
    failed = snakemake(tmp_path / "slurm", config, "train", *slurm_args, "--retries", "0", timeout=900, check=False)
    out = failed.stdout + failed.stderr
    job_ids = re.findall(r"SLURM jobid (\d+)", out) or re.findall(r"SLURM run ID[^\n]*?(\d+)", out)
    assert failed.returncode != 0 and len(job_ids) == 2, out[-3000:]  # the shard and train
    # the workflow's localrules run where Snakemake runs: the download needs the internet, the rest take seconds
    assert all(f"localrule {rule}:" in out for rule in ("download", "index", "data_stats")), out[-3000:]
    train_log = (tmp_path / "slurm" / "logs" / "train.log").read_text()
    assert re.search(r"SLURM job \d+: using the GPUs SLURM assigned \(CUDA_VISIBLE_DEVICES=0,1\)", train_log)
    assert "TensorFlow sees no GPU although CUDA_VISIBLE_DEVICES=0,1" in train_log and "facegan[gpu]" in train_log

    # train.gpus 0: a CPU job on the cluster, the same weights as a local run.
    cpu = {**config, "train": {**config["train"], "gpus": 0}}
    snakemake(tmp_path / "slurm", cpu, "train", *slurm_args, timeout=900)
    assert "training on CPU" in (tmp_path / "slurm" / "logs" / "train.log").read_text()
    snakemake(tmp_path / "local", cpu, "train", "--cores", "2", "--set-threads", "train=2")
    stats = [json.loads((tmp_path / w / "results/data/stats.json").read_text()) for w in ("slurm", "local")]
    assert stats[0]["dataset_sha256"] == stats[1]["dataset_sha256"]
    import keras
    import numpy as np

    weights = [keras.models.load_model(tmp_path / w / "results/train/generator.keras").get_weights()
               for w in ("slurm", "local")]
    assert all(np.array_equal(a, b) for a, b in zip(*weights))


def test_a_sweep_submits_each_run_as_its_own_training_job(cluster, tmp_path, snakemake, config, slurm_args):
    sweep = {**config, "train": {**config["train"], "gpus": 0},
             "evaluate": {"images": 48, "attribute_threshold": 0.0, "attribute_images": 100},
             "sweep": {"w4": {"model": {"width": 4}}, "w8": {"model": {"width": 8}}}}
    # The shared data stage locally, to keep the test short (training here measures no SWD, so it needs no real
    # reference); then each run's training through the profile, as its own SLURM job (faces, evaluation and the
    # summary are tests/test_sweep.py's).
    snakemake(tmp_path, sweep, "data", "--cores", "2")
    targets = [f"results/sweep/{run}/train/generator.keras" for run in ("w4", "w8")]
    out = snakemake(tmp_path, sweep, *targets, *slurm_args, timeout=1200)
    assert len(set(re.findall(r"SLURM jobid (\d+)", out.stdout + out.stderr))) >= 2, out.stderr[-3000:]
    ids = [re.search(r"runs as SLURM job (\d+)", (tmp_path / f"logs/sweep/{run}/train.log").read_text()).group(1)
           for run in ("w4", "w8")]
    assert ids[0] != ids[1]
    widths = [json.loads((tmp_path / f"results/sweep/{run}/train/training_options.json").read_text())
              ["train_options"]["model"]["width"]
              for run in ("w4", "w8")]
    assert widths == [4, 8]
