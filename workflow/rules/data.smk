# Data stage: download -> index -> shard (one job per shard) -> data_stats.


rule download:
    input:
        code=get_download_code(),
    output:
        directory(DATASET_DIR),
    log:
        "logs/download.log",
    conda:
        "../envs/facegan.yaml"
    params:
        spec=get_download_spec(),
    script:
        "../scripts/download.py"


rule index:
    input:
        DATASET_DIR,
        code=get_code("index"),
    output:
        index="results/data/index.tsv",
        counts="results/data/index.json",
    log:
        "logs/index.log",
    conda:
        "../envs/facegan.yaml"
    params:
        split=config["dataset"]["split"],
        limit=config["dataset"]["limit"],
        shards=NSHARDS,
    script:
        "../scripts/index.py"


rule shard:
    input:
        index="results/data/index.tsv",
        code=get_code("preprocess", "tfrecord"),
    output:
        shard=SHARD_FILE,
        report=SHARD_REPORT,
    log:
        "logs/shard/{shard}.log",
    conda:
        "../envs/facegan.yaml"
    params:
        settings=get_preprocess_settings(),
    script:
        "../scripts/shard.py"


rule data_stats:
    input:
        counts="results/data/index.json",
        code=get_code("datastats"),
        reports=get_shard_reports(),
    output:
        manifest="results/data/manifest.tsv",
        stats="results/data/stats.json",
    log:
        "logs/data_stats.log",
    conda:
        "../envs/facegan.yaml"
    params:
        settings={
            "dataset": config["dataset"]["name"],
            "split": config["dataset"]["split"],
            "limit": config["dataset"]["limit"],
            **get_preprocess_settings(),
        },
    script:
        "../scripts/data_stats.py"


rule data:
    input:
        get_data_outputs(),
