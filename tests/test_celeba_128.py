"""config/celeba-128.yaml: the seed notebook's run (the tutorial's network at 128x128 on the first 10,000
CelebA images, 100 epochs, two GPUs), planned in full and trained for real at its resolution (issue 23)."""

import json
import re

import yaml
from conftest import build_tiny_shards


def test_the_notebooks_run_is_planned_with_two_gpus(tmp_path, snakemake, repo):
    proc = snakemake(tmp_path, None, "-n", "--configfile", str(repo / "config/celeba.yaml"),
                     str(repo / "config/celeba-128.yaml"), "--resources", "gpu=2")
    jobs = dict(re.findall(r"(?m)^(\w+)\s+(\d+)$", proc.stdout))
    assert jobs["train"] == "1" and jobs["shard"] == "16" and jobs["export_model"] == "1"
    overlay = yaml.safe_load((repo / "config/celeba-128.yaml").read_text())
    assert overlay["preprocess"]["resolution"] == 128 and overlay["model"]["architecture"] == "tutorial"
    assert overlay["dataset"]["limit"] == 10_000 and overlay["train"]["epochs"] == 100
    assert overlay["train"]["gpus"] == 2


def test_the_tutorial_network_trains_at_128(tmp_path, train_job):
    data = build_tiny_shards(tmp_path / "data", count=16, shards=1, resolution=128)
    train_job(tmp_path, data, resolution=128, model={"architecture": "tutorial", "width": 2, "latent_dim": 8},
              epochs=1, batch_size=8, learning_rate=1e-4, beta_1=0.9)
    opts = json.loads((tmp_path / "train" / "training_options.json").read_text())
    assert opts["train_options"]["model"]["resolution"] == 128
    from facegan.generation import load_generator

    assert load_generator(tmp_path / "train" / "generator.keras").output_shape == (None, 128, 128, 3)
