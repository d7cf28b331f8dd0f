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
    benchmark:
        "results/benchmarks/real_reference.tsv"
    conda:
        "../envs/facegan.yaml"
    params:
        resolution=config["preprocess"]["resolution"],
        images=config["evaluate"]["images"],
        seed=config["seed"],
        fid=config["evaluate"]["fid"],
        inception_graph=config["evaluate"]["inception_graph"],
    script:
        "../scripts/real_reference.py"


rule attribute_classifier:
    input:
        get_code("attribute_classifier"),
        shards=get_shard_files(),
        attributes="results/data/attributes.tsv",
        attribute_spec="results/data/attributes.json",
    output:
        classifier=directory("results/eval/attribute_classifier"),
    log:
        "logs/attribute_classifier.log",
    benchmark:
        "results/benchmarks/attribute_classifier.tsv"
    conda:
        "../envs/facegan.yaml"
    # Only evaluate needs it, so it takes no core from the scheduler and runs at the lowest CPU priority
    # (niceness 19): in the gaps of real_reference and then of training, which no longer wait for it
    # (TensorFlow still uses every core it sees). SLURM: set-threads gives its job its own CPUs.
    threads: 0
    resources:
        gpu=min(config["train"]["gpus"], 1),
    params:
        resolution=config["preprocess"]["resolution"],
        seed=config["seed"],
        threshold=config["evaluate"]["attribute_threshold"],
        images=config["evaluate"]["attribute_images"],
        gpus=min(config["train"]["gpus"], 1),
        niceness=19,
    script:
        "../scripts/attribute_classifier.py"


rule evaluate:
    input:
        get_code("evaluate"),
        generator=TRAIN["generator"],
        training_options=TRAIN["training_options"],
        reference="results/eval/real_reference.npz",
        classifier="results/eval/attribute_classifier",
    output:
        metrics=report(
            "results/eval/metrics.json",
            caption="../report/metrics.rst",
            category="Metrics",
            labels={"figure": "metrics"},
        ),
    log:
        "logs/evaluate.log",
    benchmark:
        "results/benchmarks/evaluate.tsv"
    # the longest job after training (plot_attributes waits for it): first, so the short jobs fill the
    # other cores beside it instead of it running alone at the end
    priority: 1
    conda:
        "../envs/facegan.yaml"
    params:
        images=config["evaluate"]["images"],
        seed=config["seed"],
        inception_graph=config["evaluate"]["inception_graph"],
        obedience_images=config["evaluate"]["obedience_images"],
    script:
        "../scripts/evaluate.py"
