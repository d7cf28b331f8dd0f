# Training stage: one job, on the GPUs it asks for (or the CPU). Checkpoints live in
# results/train_state/, which is not an output, so a rerun resumes instead of starting over.


rule train:
    input:
        get_code("train"),
        **get_train_reference(),
        **get_train_attributes(),
        shards=get_shard_files(),
        stats="results/data/stats.json",
    output:
        **get_train_outputs("results/train"),
    log:
        "logs/train.log",
    benchmark:
        "results/benchmarks/train.tsv"
    conda:
        "../envs/facegan.yaml"
    threads: 8  # capped at --cores locally; set-threads in the SLURM profile
    resources:
        gpu=config["train"]["gpus"],
    params:
        model=config["model"],
        training=config["train"],
        resolution=config["preprocess"]["resolution"],
        seed=config["seed"],
        state_dir=TRAIN_STATE_DIR,
    script:
        "../scripts/train.py"
