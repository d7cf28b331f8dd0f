"""model.conditions through the workflow: checked at parse time, and config/celeba-conditioned.yaml end to end on an
archive in Kaggle's CelebA layout with the real attribute header (issue 21)."""

import json

import pytest
import yaml


def _error_lines(proc):
    return [line for line in (proc.stdout + proc.stderr).splitlines() if "model.conditions" in line]


def test_an_unknown_condition_stops_the_workflow_at_parse_time_naming_the_datas_attributes(tmp_path, snakemake,
                                                                                          make_config):
    proc = snakemake(tmp_path, make_config(model={"conditions": ["glasses", "Eyeglasses"]}), "-n", check=False)
    assert proc.returncode != 0 and "Job stats" not in proc.stdout
    assert _error_lines(proc) == ["model.conditions: 'Eyeglasses' is not an attribute of the data; it has skin, "
                                  "hair_colour, hair_style, glasses, smiling, eye_colour, background_hue"]


def test_conditions_on_a_folder_without_an_attribute_table_stop_at_parse_time(tmp_path, snakemake, make_config,
                                                                              face_jpeg):
    folder = tmp_path / "faces"
    folder.mkdir()
    for i in range(4):
        (folder / f"{i}.jpg").write_bytes(face_jpeg(i))
    config = make_config(dataset={"name": "mine", "source": "local", "path": str(folder)},
                         model={"conditions": ["Smiling"]})
    proc = snakemake(tmp_path / "w", config, "-n", check=False)
    assert proc.returncode != 0
    assert len(_error_lines(proc)) == 1 and "the data set has no attribute table" in _error_lines(proc)[0]


def test_a_sweep_can_vary_the_conditions(tmp_path, snakemake, make_config):
    config = make_config(sweep={"plain": {}, "glasses": {"model": {"conditions": ["glasses"]}}})
    proc = snakemake(tmp_path, config, "sweep", "-n", "-p")
    assert proc.stdout.count("rule sweep_train:") == 2
    assert "results/data/attributes.tsv" in proc.stdout


@pytest.mark.slow
def test_celeba_conditioned_config_runs_end_to_end_on_a_kaggle_layout_archive(tmp_path, snakemake, repo,
                                                                             make_celeba_zip):
    archive = make_celeba_zip(tmp_path / "celeba-dataset.zip", n=48, all_attributes=True)
    tiny = {"dataset": {"source": "local", "path": str(archive), "limit": 0},
            "preprocess": {"resolution": 32, "shards": 2},
            "model": {"width": 8, "latent_dim": 16},
            "train": {"epochs": 1, "batch_size": 8, "gpus": 0, "mixed_precision": False, "swd_every_epochs": 0,
                      "ema_kimg": 0.1},
            "export": {"samples": 4, "grid": {"rows": 2, "cols": 2}, "interpolation": {"steps": 3}},
            "evaluate": {"images": 16, "fid": False, "attribute_images": 100, "obedience_images": 8}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    # What this test reads, not the whole of `all` (each further job is mostly a TensorFlow start).
    targets = ["results/train/training_options.json", "results/export/conditions.png",
               "results/export/serving.json", "results/eval/metrics.json"]
    snakemake(tmp_path / "w", None, *targets, "--cores", "2", "--configfile", str(repo / "config/celeba.yaml"),
              str(repo / "config/celeba-conditioned.yaml"), str(tmp_path / "tiny.yaml"), timeout=1200)
    w = tmp_path / "w"
    names = ["Male", "Eyeglasses", "Smiling", "Young", "Blond_Hair", "Black_Hair"]
    assert json.loads((w / "results/train/training_options.json").read_text())["conditioning"]["names"] == names
    assert (w / "results/export/conditions.png").stat().st_size > 0
    serving = json.loads((w / "results/export/serving.json").read_text())
    assert serving["inputs"]["conditions"] == ["batch", 6] and serving["conditions"]["Eyeglasses"] == ["no", "yes"]
    obedience = json.loads((w / "results/eval/metrics.json").read_text())["obedience"]
    # gradients, not faces: the classifier reads none of the attributes reliably, and says so
    assert set(obedience["attributes"]) | set(obedience["not_read"]) == set(names)
    assert all("balanced accuracy" in why for why in obedience["not_read"].values())
