# Helpers shared by the rules: paths derived from the config, the params each rule receives, and
# the facegan code each rule depends on. Each rule gets only the config keys it uses, so changing a
# key reruns only the rules that read it.


wildcard_constraints:
    shard=r"\d{5}",


from pathlib import Path

from facegan.codedeps import script_code_files

SCRIPTS_DIR = Path(workflow.current_basedir).parent / "scripts"


def get_code(rule_name):
    """The facegan source files the rule's script can run, computed from the import graph: Snakemake's
    code trigger watches only the script file, so without these an edited module would not rerun.
    """
    return script_code_files(SCRIPTS_DIR / f"{rule_name}.py")


def get_download_code():
    """Only generated data depend on code; a real download is never redone because facegan changed."""
    if config["dataset"]["source"] == "synthetic":
        return get_code("download")
    return []


DATASET_DIR = f"resources/{config['dataset']['name']}"
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


def get_train_outputs():
    return [
        "results/train/generator.keras",
        "results/train/generator.h5",
        "results/train/discriminator.keras",
        "results/train/history.csv",
        "results/train/training_options.json",
        "results/train/swd.csv",
    ]


def get_export_outputs():
    return [
        "results/export/samples",
        "results/export/grid.png",
        "results/export/progress.gif",
        "results/export/progress.png",
        "results/export/losses.png",
        "results/export/swd.png",
        "results/export/attributes.png",
        "results/export/interpolation.png",
        "results/export/interpolation.gif",
        "results/export/real_vs_fake.png",
    ]


def get_final_outputs():
    return (
        get_data_outputs()
        + get_train_outputs()
        + get_export_outputs()
        + ["results/eval/metrics.json"]
    )
