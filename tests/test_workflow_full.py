"""The whole workflow on a tiny config, then what reruns when something changes (dry runs)."""

import json
import re
import shutil

import pytest
from PIL import Image

from conftest import run_snakemake, tiny_config

pytestmark = pytest.mark.slow

TINY_FULL = tiny_config(
    model={"width": 8, "latent_dim": 16},
    train={"epochs": 2, "batch_size": 16, "gpus": 2, "shuffle_buffer": 64},
    export={"samples": 6, "grid": {"rows": 3, "cols": 3}, "interpolation": {"steps": 4, "rows": 2}, "compare": 4},
    evaluate={"images": 64},
)


def planned(stdout: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run: rule -> number of jobs."""
    jobs = {}
    in_table = False
    for line in stdout.splitlines():
        if line.startswith("job ") and "count" in line:
            in_table = True
            continue
        if in_table:
            m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
            if m and m.group(1) != "total":
                jobs[m.group(1)] = int(m.group(2))
            elif line.strip().startswith("total"):
                break
    return jobs


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    work = tmp_path_factory.mktemp("full")
    # The README's command line: GPU jobs capped at 1, on a machine without GPUs.
    run_snakemake(work, TINY_FULL, "--cores", "2", "--resources", "gpu=1")
    return work


def _dry(work, config, *args):
    return planned(run_snakemake(work, config, "-n", *args).stdout)


def test_every_output_exists_and_opens(finished):
    for png in ("grid.png", "progress.png", "losses.png", "interpolation.png", "real_vs_fake.png"):
        with Image.open(finished / "results/export" / png) as img:
            img.verify()
    with Image.open(finished / "results/export/progress.gif") as gif:
        assert gif.n_frames == 2  # one frame per epoch
    assert len(list((finished / "results/export/samples").glob("sample_*.png"))) == 6
    metrics = json.loads((finished / "results/eval/metrics.json").read_text())
    assert set(metrics["swd"]) == {"SWDx1e3_32", "SWDx1e3_16", "SWDx1e3_avg"} and metrics["fid"] is None
    assert "Inception weights not found" in metrics["fid_note"]
    for log in ("train", "grid", "evaluate", "real_stats"):
        assert (finished / "logs" / f"{log}.log").exists(), log


def test_gpu_request_cut_by_snakemake_is_logged_and_cpu_is_used(finished):
    log = (finished / "logs" / "train.log").read_text()
    assert "train.gpus is 2 but Snakemake granted this job 1 GPU(s)" in log
    assert "training on CPU: 1 replica(s)" in log
    opts = json.loads((finished / "results/train/training_options.json").read_text())
    assert opts["devices"]["kind"] == "cpu" and opts["devices"]["replicas"] == 1


def test_rules_declare_the_facegan_code_they_depend_on(finished):
    out = run_snakemake(finished, TINY_FULL, "-n", "--forceall").stdout
    grid_block = out.split("rule grid:")[1].split("rule ")[0]
    train_block = out.split("rule train:")[1].split("rule ")[0]
    assert "facegan/export.py" in grid_block and "facegan/models.py" in train_block


def test_nothing_reruns_when_nothing_changed(finished):
    assert _dry(finished, TINY_FULL) == {}


def test_changing_grid_rows_reruns_only_the_grid(finished):
    cfg = json.loads(json.dumps(TINY_FULL))
    cfg["export"]["grid"]["rows"] = 2
    assert _dry(finished, cfg) == {"grid": 1, "all": 1}


def test_changing_epochs_reruns_training_and_everything_downstream_only(finished):
    cfg = json.loads(json.dumps(TINY_FULL))
    cfg["train"]["epochs"] = 3
    jobs = _dry(finished, cfg)
    assert set(jobs) == {"train", "sample", "grid", "progress_gif", "plot_losses", "interpolate", "compare",
                         "evaluate", "all"}


def test_changing_resolution_reruns_shards_and_downstream_not_the_download(finished):
    cfg = json.loads(json.dumps(TINY_FULL))
    cfg["preprocess"]["resolution"] = 64
    jobs = _dry(finished, cfg)
    assert "download" not in jobs and "index" not in jobs
    assert jobs["shard"] == 3 and {"data_stats", "train", "real_stats", "evaluate", "grid"} <= set(jobs)


def test_forcerun_train_then_only_export_and_evaluate_follow(finished):
    jobs = _dry(finished, TINY_FULL, "--forcerun", "train")
    assert set(jobs) == {"train", "sample", "grid", "progress_gif", "plot_losses", "interpolate", "compare",
                         "evaluate", "all"}


def test_generator_replaced_by_hand_regenerates_the_export_without_retraining(finished, tmp_path):
    import keras

    from facegan.models import build_models

    work = tmp_path / "copy"
    shutil.copytree(finished, work, symlinks=True)
    keras.utils.set_random_seed(123)
    g, _ = build_models("dcgan", 32, 16, 8)
    g.save(work / "results/train/generator.keras")  # "trained elsewhere"
    jobs = _dry(work, TINY_FULL, "export")
    assert "train" not in jobs and {"sample", "grid", "interpolate", "compare"} <= set(jobs)
    run_snakemake(work, TINY_FULL, "--cores", "2", "export")
    assert _dry(work, TINY_FULL, "export") == {}
