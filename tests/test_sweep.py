"""Sweeps: each run trains as its own job and is compared; adding or changing a run reruns only it."""

import csv
import json

import pytest
from PIL import Image

pytestmark = pytest.mark.slow


def _planned(stdout):
    import re

    table = stdout.split("Job stats:")[1].split("total")[0] if "Job stats:" in stdout else ""
    return {k: int(v) for k, v in re.findall(r"(?m)^(\w+)\s+(\d+)$", table)}


@pytest.fixture(scope="module")
def sweep_config(make_config):
    return make_config(model={"width": 8, "latent_dim": 16},
                       train={"epochs": 1, "batch_size": 16, "gpus": 0, "shuffle_buffer": 64},
                       evaluate={"images": 48, "attribute_threshold": 0.0, "attribute_images": 100},
                       sweep={"w4": {"model": {"width": 4}}, "seed1": {"seed": 1, "train": {"augment": ""}}})


@pytest.fixture(scope="module")
def swept(tmp_path_factory, snakemake, sweep_config):
    work = tmp_path_factory.mktemp("sweep")
    proc = snakemake(work, sweep_config, "sweep", "--cores", "2")
    return work, proc.stdout + proc.stderr


def test_each_run_trains_as_its_own_job_and_the_summary_has_a_row_each(swept):
    work, out = swept
    assert out.count("rule sweep_train:") == 2
    with open(work / "results/sweep/summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["run"] for r in rows] == ["seed1", "w4"]
    assert json.loads(rows[1]["overrides"]) == {"model": {"width": 4}}
    assert all(float(r["swd_vs_floor"]) > 0 and float(r["images_per_s"]) > 0 and float(r["train_seconds"]) > 0
               for r in rows)
    opts = json.loads((work / "results/sweep/w4/train/training_options.json").read_text())
    assert opts["train_options"]["model"]["width"] == 4 and opts["config"]["model"]["width"] == 4
    seed1 = json.loads((work / "results/sweep/seed1/train/training_options.json").read_text())
    assert seed1["train_options"]["data"]["seed"] == 1 and seed1["train_options"]["gan"]["augment"] == ""
    assert (work / "results/sweep/w4/train_state/checkpoints").is_dir()  # its own training state
    assert not (work / "results/train").exists()  # the default single run is not part of a sweep


def test_the_sheet_has_a_row_of_faces_per_run_and_the_chart_exists(swept):
    work, _ = swept
    row = Image.open(work / "results/sweep/w4/faces.png")
    sheet = Image.open(work / "results/sweep/faces.png")
    assert sheet.size[1] > 2 * row.size[1] and sheet.size[1] < 3 * row.size[1]  # two rows plus their labels
    assert Image.open(work / "results/sweep/swd.png").size[0] >= 600


def test_adding_a_run_plans_only_that_run_and_the_summary(swept, snakemake, sweep_config):
    work, _ = swept
    assert _planned(snakemake(work, sweep_config, "sweep", "-n").stdout) == {}
    bigger = json.loads(json.dumps(sweep_config))
    bigger["sweep"]["lr"] = {"train": {"learning_rate": 0.0001}}
    assert _planned(snakemake(work, bigger, "sweep", "-n").stdout) == {
        "sweep_train": 1, "sweep_faces": 1, "sweep_evaluate": 1, "sweep_summary": 1, "sweep": 1}
    changed = json.loads(json.dumps(sweep_config))
    changed["sweep"]["w4"]["train"] = {"epochs": 2}
    out = snakemake(work, changed, "sweep", "-n").stdout
    assert _planned(out) == {"sweep_train": 1, "sweep_faces": 1, "sweep_evaluate": 1, "sweep_summary": 1,
                             "sweep": 1}
    assert "wildcards: run=w4" in out


def test_an_export_key_never_retrains_a_sweep_run(swept, snakemake, sweep_config):
    work, _ = swept
    changed = json.loads(json.dumps(sweep_config))
    changed["export"] = {"samples": 7, "gif": {"fps": 2}, "grid": {"rows": 2, "cols": 3}}
    assert "sweep_train" not in _planned(snakemake(work, changed, "sweep", "-n").stdout)


def test_a_bad_sweep_override_names_its_key(tmp_path, snakemake, sweep_config):
    bad = json.loads(json.dumps(sweep_config))
    bad["sweep"]["w4"] = {"model": {"width": "wide"}, "dataset": {"name": "x"}}
    proc = snakemake(tmp_path, bad, "sweep", "-n", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "sweep.w4.model.width: 'wide' is not of type 'integer'" in out
    assert "unknown key sweep.w4.dataset" in out


def test_sweep_without_runs_says_how_to_add_them(tmp_path, snakemake, make_config):
    proc = snakemake(tmp_path, make_config(), "sweep", "-n", check=False)
    assert proc.returncode != 0 and "the config has no sweep runs" in proc.stdout + proc.stderr
