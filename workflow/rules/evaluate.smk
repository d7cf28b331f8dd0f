# Evaluation: the real images' reference once per data set, then metrics for each trained generator.


rule real_reference:
    input:
        get_code("real_reference"),
        shards=get_shard_files(),
        stats="results/data/stats.json",
    output:
        reference="results/eval/real_reference.npz",
    log:
        "logs/real_reference.log",
    conda:
        "../envs/facegan.yaml"
    params:
        resolution=config["preprocess"]["resolution"],
        images=config["evaluate"]["images"],
        seed=config["seed"],
        inception_weights=config["evaluate"]["inception_weights"],
    script:
        "../scripts/real_reference.py"


rule evaluate:
    input:
        get_code("evaluate"),
        generator="results/train/generator.keras",
        training_options="results/train/training_options.json",
        reference="results/eval/real_reference.npz",
    output:
        metrics=report(
            "results/eval/metrics.json",
            caption="../report/metrics.rst",
            category="Metrics",
        ),
    log:
        "logs/evaluate.log",
    conda:
        "../envs/facegan.yaml"
    params:
        images=config["evaluate"]["images"],
        seed=config["seed"],
        inception_weights=config["evaluate"]["inception_weights"],
    script:
        "../scripts/evaluate.py"
