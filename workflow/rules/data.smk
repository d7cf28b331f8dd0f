# Data stage: download -> index -> shard (one job per shard) -> data_stats.


rule download:
    input:
        get_download_code(),
    output:
        dataset_dir=directory(DATASET_DIR),
    log:
        "logs/download.log",
    benchmark:
        "results/benchmarks/download.tsv"
    conda:
        "../envs/facegan.yaml"
    params:
        **get_download_params(),
    script:
        "../scripts/download.py"


rule index:
    input:
        get_code("index"),
        dataset_dir=DATASET_DIR,
    output:
        index="results/data/index.tsv",
        counts="results/data/index.json",
    log:
        "logs/index.log",
    benchmark:
        "results/benchmarks/index.tsv"
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
        get_code("shard"),
        index="results/data/index.tsv",
    output:
        shard_file=SHARD_FILE,
        report=SHARD_REPORT,
    log:
        "logs/shard/{shard}.log",
    benchmark:
        "results/benchmarks/shard/{shard}.tsv"
    conda:
        "../envs/facegan.yaml"
    params:
        resolution=config["preprocess"]["resolution"],
        crop=config["preprocess"]["crop"],
        min_side=config["preprocess"]["min_side"],
    script:
        "../scripts/shard.py"


rule data_stats:
    input:
        get_code("data_stats"),
        counts="results/data/index.json",
        reports=get_shard_reports(),
    output:
        manifest="results/data/manifest.tsv",
        stats="results/data/stats.json",
        attributes="results/data/attributes.tsv",
        attribute_spec="results/data/attributes.json",
    log:
        "logs/data_stats.log",
    benchmark:
        "results/benchmarks/data_stats.tsv"
    conda:
        "../envs/facegan.yaml"
    params:
        dataset=config["dataset"]["name"],
        split=config["dataset"]["split"],
        limit=config["dataset"]["limit"],
        resolution=config["preprocess"]["resolution"],
        crop=config["preprocess"]["crop"],
        min_side=config["preprocess"]["min_side"],
    script:
        "../scripts/data_stats.py"


rule data:
    input:
        get_data_outputs(),
