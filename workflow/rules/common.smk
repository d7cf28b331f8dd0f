# Helpers shared by the rules: paths derived from the config, and the params each rule receives.
# Each rule gets only the config keys it reads, so changing a key reruns only the rules that use it.


wildcard_constraints:
    shard=r"\d{5}",


import importlib.util
from pathlib import Path


def get_code(*modules):
    """The facegan modules a rule's results depend on, declared as inputs: Snakemake's code trigger
    watches only the script file, so without these an edited model or metric would not rerun.
    """
    package = Path(importlib.util.find_spec("facegan").origin).parent
    return [str(package / f"{m}.py") for m in modules]


def get_download_code():
    """Only generated data depend on code; a real download is never redone because facegan changed."""
    return get_code("synthetic") if config["dataset"]["source"] == "synthetic" else []


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


def get_download_spec():
    """Only the dataset keys the configured source uses (so e.g. synthetic_count never reruns a Kaggle download)."""
    ds = config["dataset"]
    spec = {"source": ds["source"]}
    if ds["source"] == "synthetic":
        spec.update(synthetic_count=ds["synthetic_count"], seed=config["seed"])
    elif ds["source"] == "local":
        spec.update(path=ds["path"])
    else:
        spec.update(kaggle_slug=ds["kaggle_slug"])
    return spec


def get_preprocess_settings():
    pp = config["preprocess"]
    return {
        "resolution": pp["resolution"],
        "crop": pp["crop"],
        "min_side": pp["min_side"],
    }


def get_data_outputs():
    return get_shard_files() + ["results/data/stats.json", "results/data/manifest.tsv"]


TRAIN_STATE_DIR = "results/train_state"


def get_train_options():
    """The keys training reads (model, resolution, seed, train.*): changing any other key never retrains."""
    return {
        **config["model"],
        "resolution": config["preprocess"]["resolution"],
        "seed": config["seed"],
        **config["train"],
    }


def get_train_outputs():
    return [
        "results/train/generator.keras",
        "results/train/generator.h5",
        "results/train/discriminator.keras",
        "results/train/history.csv",
        "results/train/training_options.json",
    ]


def get_export_outputs():
    return [
        "results/export/samples",
        "results/export/grid.png",
        "results/export/progress.gif",
        "results/export/progress.png",
        "results/export/losses.png",
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
