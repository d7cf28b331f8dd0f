"""The whole workflow on a tiny config, then what reruns when something changes (dry runs)."""

import csv
import json
import os
import re
import shutil

import pytest
from PIL import Image

pytestmark = pytest.mark.slow

# What retraining reruns: never the data stage, the real reference or the attribute classifier.
DOWNSTREAM_OF_TRAIN = {"train", "sample", "grid", "progress_gif", "plot_losses", "plot_swd", "interpolate", "compare",
                       "evaluate", "plot_attributes", "export_model", "job_costs", "all"}


@pytest.fixture(scope="module")
def tiny_full(make_config):
    return make_config(
        model={"width": 8, "latent_dim": 16},
        train={"epochs": 2, "batch_size": 16, "gpus": 2, "shuffle_buffer": 64},
        export={"samples": 6, "grid": {"rows": 3, "cols": 3}, "interpolation": {"steps": 4, "rows": 2},
                "compare": 4},
        # every attribute is compared, whatever the tiny classifier's accuracy (this tests the plumbing)
        evaluate={"images": 48, "attribute_threshold": 0.0, "attribute_images": 100},
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


def job_inputs(stdout: str, workdir) -> dict[str, set[str]]:
    """rule -> the input files a dry run lists for its (first) job, as absolute paths."""
    inputs = {}
    for block in re.split(r"(?m)^rule ", stdout)[1:]:
        name = block.split(":", 1)[0]
        m = re.search(r"(?m)^\s+input: (.*)$", block)
        if m and name not in inputs:
            inputs[name] = {os.path.normpath(os.path.join(workdir, p.strip())) for p in m.group(1).split(",")}
    return inputs


@pytest.fixture(scope="module")
def finished(tmp_path_factory, snakemake, tiny_full):
    work = tmp_path_factory.mktemp("full")
    # The README's command line: GPU jobs capped at 1, on a machine without GPUs. DEBUG makes every step
    # log the facegan modules it loaded (test_rules_declare_every_module_their_step_loads).
    snakemake(work, tiny_full, "--cores", "2", "--resources", "gpu=1", env={**os.environ, "FACEGAN_LOG_LEVEL": "DEBUG"})
    return work


def _dry(snakemake, work, config, *args, env=None):
    return planned(snakemake(work, config, "-n", *args, env=env).stdout)


def test_every_output_exists_and_opens(finished):
    for png in ("grid.png", "progress.png", "losses.png", "interpolation.png", "real_vs_fake.png"):
        with Image.open(finished / "results/export" / png) as img:
            img.verify()
    with Image.open(finished / "results/export/progress.gif") as gif:
        assert gif.n_frames == 2  # one frame per epoch
    assert (finished / "results/export/progress.mp4").read_bytes()[4:8] == b"ftyp"
    assert len(list((finished / "results/export/samples").glob("sample_*.png"))) == 6
    metrics = json.loads((finished / "results/eval/metrics.json").read_text())
    assert set(metrics["swd"]) == {"SWDx1e3_32", "SWDx1e3_16", "SWDx1e3_avg", "swd_vs_floor"}
    assert metrics["fid"] is None and metrics["swd_vs_floor"] > 1 and metrics["images"] == 48
    attrs = metrics["attributes"]
    assert set(attrs["per_attribute"]) == {"skin", "hair_colour", "hair_style", "glasses", "smiling", "eye_colour",
                                           "background_hue"}
    assert 0 <= attrs["joint_coverage"] <= 1 and len(attrs["largest_differences"]) == 5
    with Image.open(finished / "results/export/attributes.png") as img:
        assert img.size[0] > 800
    assert metrics["fid_note"] == "FID/KID not computed (evaluate.fid is false)"
    for log in ("train", "grid", "evaluate", "real_reference", "attribute_classifier"):
        assert (finished / "logs" / f"{log}.log").exists(), log
    with open(finished / "results/benchmarks/summary.tsv") as f:
        costs = {row["rule"]: row for row in csv.DictReader(f, delimiter="\t")}
    assert costs["shard"]["jobs"] == "3" and float(costs["train"]["seconds"]) > 0 and len(costs) == 17


def test_gpu_request_cut_by_snakemake_is_logged_and_cpu_is_used(finished):
    log = (finished / "logs" / "train.log").read_text()
    assert "train.gpus is 2 but Snakemake granted this job 1 GPU(s)" in log
    assert "training on CPU: 1 replica(s)" in log
    opts = json.loads((finished / "results/train/training_options.json").read_text())
    assert opts["devices"]["kind"] == "cpu" and opts["devices"]["replicas"] == 1


def test_rules_declare_every_module_their_step_loads(finished, snakemake, tiny_full):
    """Each step logged the facegan modules it had loaded when it ended; each must be listed in its rule's
    code stamp (results/code/<rule>.txt), the one code input each job shows."""
    import facegan
    from facegan.codedeps import module_file, stamp_files

    declared = job_inputs(snakemake(finished, tiny_full, "-n", "--forceall").stdout, finished)
    logs = {"shard": finished / "logs/shard/00000.log"} | {
        rule: finished / "logs" / f"{rule}.log" for rule in declared if (finished / "logs" / f"{rule}.log").exists()}
    assert set(logs) == set(declared) - {"all"}, "a rule without its log"
    package = os.path.dirname(facegan.__file__)
    for rule, log in logs.items():
        stamp = str(finished / "results" / "code" / f"{rule}.txt")
        assert stamp in declared[rule], f"{rule}: its code stamp is not among its inputs"
        assert not any(p.startswith(package) for p in declared[rule]), f"{rule}: source files listed as inputs"
        listed = {str(p) for p in stamp_files(stamp)}
        m = re.search(r"facegan modules loaded: (.*)", log.read_text())
        assert m, f"{rule}: no module list in {log}"
        loaded = {str(module_file(name)) for name in m.group(1).split()}
        missing = sorted(p for p in loaded - listed if p.startswith(package))
        assert not missing, f"rule {rule} runs {missing} but its code stamp does not list it"


DATA_RULES = {"download", "index", "shard", "data_stats"}
# module edited -> (rules that must be planned, rules that must not be)
EDITS = {
    "images.py": (DOWNSTREAM_OF_TRAIN, DATA_RULES),  # the progress grids
    "attribute_classifier.py": ({"attribute_classifier", "evaluate"}, DATA_RULES | {"train", "real_reference"}),
    "attribute_stats.py": ({"attribute_classifier", "evaluate"}, DATA_RULES | {"train"}),
    "evaluation.py": ({"evaluate"}, DATA_RULES | {"train", "attribute_classifier"}),
}


@pytest.mark.parametrize("module", sorted(EDITS))
def test_editing_a_module_reruns_the_rules_that_run_it_and_no_other(finished, snakemake, tiny_full, tmp_path, repo,
                                                                     module):
    """A copy of the package put first on the path, with one module edited, on a copy of the finished
    working directory (a dry run rewrites the code stamps it parses). Copies have new file times: only
    content counts, so the unedited copy plans nothing."""
    src = tmp_path / "src"
    shutil.copytree(repo / "src" / "facegan", src / "facegan", copy_function=shutil.copy)
    work = tmp_path / "work"
    shutil.copytree(finished, work, symlinks=True)
    env = {**os.environ, "PYTHONPATH": str(src)}
    if module == "images.py":
        assert _dry(snakemake, work, tiny_full, env=env) == {}  # the same code: nothing to do
    edited = src / "facegan" / module
    edited.write_text(edited.read_text() + "\n# edited\n")
    jobs = set(_dry(snakemake, work, tiny_full, env=env))
    planned, not_planned = EDITS[module]
    assert planned <= jobs and not not_planned & jobs, sorted(jobs)


def test_nothing_reruns_when_nothing_changed(finished, snakemake, tiny_full):
    assert _dry(snakemake, finished, tiny_full) == {}


def test_changing_grid_rows_reruns_only_the_grid(finished, snakemake, tiny_full):
    cfg = json.loads(json.dumps(tiny_full))
    cfg["export"]["grid"]["rows"] = 2
    assert _dry(snakemake, finished, cfg) == {"grid": 1, "job_costs": 1, "all": 1}


def test_changing_epochs_reruns_training_and_everything_downstream_only(finished, snakemake, tiny_full):
    cfg = json.loads(json.dumps(tiny_full))
    cfg["train"]["epochs"] = 3
    assert set(_dry(snakemake, finished, cfg)) == DOWNSTREAM_OF_TRAIN


def test_changing_resolution_reruns_shards_and_downstream_not_the_download(finished, snakemake, tiny_full):
    cfg = json.loads(json.dumps(tiny_full))
    cfg["preprocess"]["resolution"] = 64
    jobs = _dry(snakemake, finished, cfg)
    assert "download" not in jobs and "index" not in jobs
    assert jobs["shard"] == 3 and {"data_stats", "train", "real_reference", "evaluate", "grid"} <= set(jobs)


def test_forcerun_train_then_only_export_and_evaluate_follow(finished, snakemake, tiny_full):
    assert set(_dry(snakemake, finished, tiny_full, "--forcerun", "train")) == DOWNSTREAM_OF_TRAIN


def test_generator_replaced_by_hand_regenerates_the_export_without_retraining(finished, snakemake, tiny_full,
                                                                              tmp_path):
    import keras

    from facegan.models import build_models

    work = tmp_path / "copy"
    shutil.copytree(finished, work, symlinks=True)
    keras.utils.set_random_seed(123)
    g, _ = build_models(architecture="dcgan", resolution=32, latent_dim=16, width=8)
    g.save(work / "results/train/generator.keras")  # "trained elsewhere"
    jobs = _dry(snakemake, work, tiny_full, "export")
    assert "train" not in jobs and {"sample", "grid", "interpolate", "compare"} <= set(jobs)
    # Two of them run (each job is mostly a TensorFlow start); the rest stay planned, training still not.
    snakemake(work, tiny_full, "--cores", "2", "sample", "grid")
    jobs = _dry(snakemake, work, tiny_full, "export")
    assert "train" not in jobs and {"interpolate", "compare"} <= set(jobs) and not {"sample", "grid"} & set(jobs)


def test_a_collapsed_generator_is_named_by_the_attributes(finished, snakemake, tiny_full, tmp_path):
    """A hand-made generator that returns the same face for every noise, copied over generator.keras:
    `snakemake evaluate` reruns only the evaluation and reports the collapse."""
    import keras

    from facegan.reader import read_images

    work = tmp_path / "collapsed"
    shutil.copytree(finished, work, symlinks=True)
    face = read_images([str(p) for p in sorted((work / "results/data/shards").glob("*.tfrecord"))], 32, 1)[0]
    z = keras.Input((16,))
    flat = keras.layers.Dense(32 * 32 * 3, kernel_initializer="zeros",
                              bias_initializer=keras.initializers.Constant(face.reshape(-1) / 127.5 - 1.0))(z)
    keras.Model(z, keras.layers.Reshape((32, 32, 3))(flat)).save(work / "results/train/generator.keras")
    assert _dry(snakemake, work, tiny_full, "evaluate") == {"evaluate": 1}  # not the classifier, not training
    snakemake(work, tiny_full, "--cores", "2", "evaluate")
    attrs = json.loads((work / "results/eval/metrics.json").read_text())["attributes"]
    # One face falls into one attribute combination: it covers one of the frequent real ones at most. How many
    # combinations there are depends on which attributes the classifier learns reliably from 96 images, which
    # varies with the CPU's arithmetic (4 on an AVX2 machine, 5 with AVX-512): at least two make the check real.
    assert attrs["joint_combinations"] >= 2 and attrs["joint_coverage"] <= 1 / attrs["joint_combinations"]
    assert 0 < attrs["real_vs_real"]["joint_coverage"] <= 1  # (>= 0.95 needs the demo's 1000 images, not 48)
    log = (work / "logs/evaluate.log").read_text()
    assert "largest differences: " in log and attrs["largest_differences"][0] in log



def test_the_report_zip_holds_the_pictures_every_sample_and_the_job_costs(finished, snakemake, tiny_full, tmp_path):
    """`snakemake --report results/report.zip`, as the README says: labelled pictures, the samples folder and
    the per-rule time and memory summary."""
    import zipfile

    snakemake(finished, tiny_full, "--report", str(tmp_path / "report.zip"))
    names = [n.rsplit("/", 1)[-1] for n in zipfile.ZipFile(tmp_path / "report.zip").namelist()]
    samples = sorted(p.name for p in (finished / "results/export/samples").glob("*.png"))
    assert samples and set(samples) <= set(names)
    assert {"grid.png", "swd.png", "attributes.png", "losses.png", "summary.png"} <= set(names)
