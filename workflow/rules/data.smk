# Data stage: download -> index -> shard (one job per shard) -> data_stats.


rule download:
    output:
        directory(DATASET_DIR),
    params:
        spec=get_download_spec(),
    log:
        "logs/download.log",
    conda:
        "../envs/facegan.yaml"
    script:
        "../scripts/download.py"


rule index:
    input:
        DATASET_DIR,
    output:
        index="results/data/index.tsv",
        counts="results/data/index.json",
    params:
        split=config["dataset"]["split"],
        limit=config["dataset"]["limit"],
        shards=NSHARDS,
    log:
        "logs/index.log",
    conda:
        "../envs/facegan.yaml"
    script:
        "../scripts/index.py"


rule shard:
    input:
        index="results/data/index.tsv",
    output:
        shard=SHARD_PATTERN + ".tfrecord",
        report=SHARD_PATTERN + ".json",
    params:
        settings=get_preprocess_settings(),
    log:
        "logs/shard/{shard}.log",
    conda:
        "../envs/facegan.yaml"
    script:
        "../scripts/shard.py"


rule data_stats:
    input:
        counts="results/data/index.json",
        reports=get_shard_reports(),
    output:
        manifest="results/data/manifest.tsv",
        stats="results/data/stats.json",
    params:
        settings={
            "dataset": config["dataset"]["name"],
            "split": config["dataset"]["split"],
            "limit": config["dataset"]["limit"],
            **get_preprocess_settings(),
        },
    log:
        "logs/data_stats.log",
    conda:
        "../envs/facegan.yaml"
    script:
        "../scripts/data_stats.py"


rule data:
    input:
        get_data_outputs(),
