# Helpers shared by the rules: paths derived from the config, the params each rule receives, and
# the facegan code each rule depends on. Each rule gets only the config keys it uses, so changing a
# key reruns only the rules that read it.


wildcard_constraints:
    shard=r"\d{5}",
    run=r"[A-Za-z0-9._-]+",


import re
from pathlib import Path

from facegan.codedeps import code_stamp
from facegan.condition_check import check_conditions
from facegan.config import sweep_run_config
from facegan.train_outputs import TRAIN_DIRS, train_output_paths

SCRIPTS_DIR = Path(workflow.current_basedir).parent / "scripts"


def get_code(rule_name):
    """The rule's code stamp, results/code/<rule>.txt: the facegan source files its script can run (from
    the import graph) with their sha256, rewritten when one changes. Snakemake's code trigger watches
    only the script file, so without it an edited module would not rerun.
    """
    return code_stamp(rule_name, SCRIPTS_DIR / f"{rule_name}.py")


def get_download_code():
    """Only generated data depend on code; a real download is never redone because facegan changed."""
    if config["dataset"]["source"] == "synthetic":
        return get_code("download")
    return []


DATASET_DIR = f"resources/{config['dataset']['name']}"
check_conditions(
    config, DATASET_DIR
)  # an unknown model.conditions name stops here, before any job
NSHARDS = config["preprocess"]["shards"]
SHARD_FILE = f"results/data/shards/train-{{shard}}-of-{NSHARDS:05d}.tfrecord"
SHARD_REPORT = f"results/data/shards/train-{{shard}}-of-{NSHARDS:05d}.json"


def get_shard_ids():
    return [f"{i:05d}" for i in range(NSHARDS)]


def get_shard_files():
    return expand(SHARD_FILE, shard=get_shard_ids())


def get_shard_reports():
    return expand(SHARD_REPORT, shard=get_shard_ids())


def get_download_params():
    """Only the dataset keys the configured source uses (so e.g. synthetic_count never reruns a Kaggle download)."""
    ds = config["dataset"]
    if ds["source"] == "synthetic":
        return {
            "source": "synthetic",
            "synthetic_count": ds["synthetic_count"],
            "seed": config["seed"],
        }
    if ds["source"] == "local":
        return {"source": "local", "path": ds["path"]}
    return {"source": "kaggle", "kaggle_slug": ds["kaggle_slug"]}


def get_data_outputs():
    return get_shard_files() + ["results/data/stats.json", "results/data/manifest.tsv"]


TRAIN_STATE_DIR = "results/train_state"


def get_train_reference():
    """The real reference, when training measures its SWD as it goes (train.swd_every_epochs)."""
    if config["train"]["swd_every_epochs"]:
        return {"reference": "results/eval/real_reference.npz"}
    return {}


def get_train_attributes(cfg=None):
    """The data's attribute files, when the generator is conditioned (model.conditions)."""
    if (cfg or config)["model"]["conditions"]:
        return {
            "attributes": "results/data/attributes.tsv",
            "attribute_spec": "results/data/attributes.json",
        }
    return {}


def get_sweep_train_attributes(wildcards):
    return get_train_attributes(get_sweep_config(wildcards.run))


CONDITIONED = bool(config["model"]["conditions"])
TRAIN = train_output_paths("results/train")
SWEEP_TRAIN = train_output_paths("results/sweep/{run}/train")


def get_train_outputs(folder):
    """The train rule's outputs in ``folder`` (facegan.train_outputs names them once)."""
    return {
        k: directory(v) if k in TRAIN_DIRS else v
        for k, v in train_output_paths(folder).items()
    }


def get_export_outputs():
    return [
        "results/export/samples",
        "results/export/grid.png",
        "results/export/progress.gif",
        "results/export/progress.mp4",
        "results/export/progress.png",
        "results/export/losses.png",
        "results/export/swd.png",
        "results/export/attributes.png",
        "results/export/interpolation.png",
        "results/export/interpolation.gif",
        "results/export/real_vs_fake.png",
        "results/export/generator_savedmodel",
        "results/export/generator.onnx",
        "results/export/serving.json",
    ] + (["results/export/conditions.png"] if CONDITIONED else [])


def get_benchmark_files(wildcards=None):
    """The benchmark file of every job the default target runs (Snakemake writes one per job), read off
    the rules themselves: every rule with a benchmark outside the sweep, the job-cost summary excepted.
    """
    files = []
    for r in workflow.rules:
        # by file and suffix, not name: as a module of another workflow the rules carry a prefix
        if (
            r.benchmark is None
            or r.name.endswith("job_costs")
            or (r.name.endswith("conditions_sheet") and not CONDITIONED)
            or Path(r.snakefile).name == "sweep.smk"
        ):
            continue
        pattern = re.sub(
            r"\{(\w+),(?:[^{}]|\{[^{}]*\})*\}", r"{\1}", str(r.benchmark)
        )  # drop constraints
        files += (
            expand(pattern, shard=get_shard_ids())
            if "{shard}" in pattern
            else [pattern]
        )
    return sorted(files)


def get_final_outputs():
    return (
        get_data_outputs()
        + list(TRAIN.values())
        + get_export_outputs()
        + ["results/eval/metrics.json", "results/benchmarks/summary.tsv"]
    )


def get_sweep_runs():
    return sorted(config["sweep"])


def get_sweep_config(run):
    """Sweep run ``run``'s resolved config: the config with the run's overrides of seed, model and train."""
    return sweep_run_config(config, run)


def get_sweep_train_reference():
    """The real reference, when any sweep run measures its SWD during training."""
    if any(
        get_sweep_config(run)["train"]["swd_every_epochs"] for run in get_sweep_runs()
    ):
        return {"reference": "results/eval/real_reference.npz"}
    return {}


def get_sweep_outputs(wildcards):
    """What `snakemake sweep` makes (an input function: checked only when the sweep is asked for)."""
    if not get_sweep_runs():
        raise WorkflowError(
            "snakemake sweep: the config has no sweep runs; add e.g. "
            "sweep: {w16: {model: {width: 16}}, w32: {model: {width: 32}}}"
        )
    return [
        "results/sweep/summary.csv",
        "results/sweep/faces.png",
        "results/sweep/swd.png",
    ]
