# Evaluation: real-image statistics once per data set, then metrics for each trained generator.


rule real_stats:
    input:
        shards=get_shard_files(),
        stats="results/data/stats.json",
        code=get_code("evaluation", "metrics", "reader"),
    output:
        "results/eval/real_stats.npz",
    log:
        "logs/real_stats.log",
    conda:
        "../envs/facegan.yaml"
    params:
        resolution=config["preprocess"]["resolution"],
        images=config["evaluate"]["images"],
        seed=config["seed"],
        inception_weights=config["evaluate"]["inception_weights"],
    script:
        "../scripts/real_stats.py"


rule evaluate:
    input:
        generator="results/train/generator.keras",
        options="results/train/training_options.json",
        real="results/eval/real_stats.npz",
        code=get_code("evaluation", "metrics", "export", "models"),
    output:
        report(
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
