# Sweeps: `snakemake sweep` trains every run of config["sweep"] as its own job (its own GPUs, its own
# training state, so each resumes on its own), draws and evaluates each against the shared data, and
# compares them. A run's params are its resolved seed, model and train keys, so adding or changing a run reruns
# only it (its whole resolved config is recorded in training_options.json, not a param: an export or evaluate
# key never retrains a run).


rule sweep_train:
    input:
        unpack(get_sweep_train_attributes),
        get_code("sweep_train"),
        **get_sweep_train_reference(),
        shards=get_shard_files(),
        stats="results/data/stats.json",
    output:
        **get_train_outputs("results/sweep/{run}/train"),
    log:
        "logs/sweep/{run}/train.log",
    benchmark:
        "results/benchmarks/sweep_train/{run}.tsv"
    conda:
        "../envs/facegan.yaml"
    threads: 8
    resources:
        gpu=lambda wc: get_sweep_config(wc.run)["train"]["gpus"],
    params:
        model=lambda wc: get_sweep_config(wc.run)["model"],
        training=lambda wc: get_sweep_config(wc.run)["train"],
        resolution=config["preprocess"]["resolution"],
        seed=lambda wc: get_sweep_config(wc.run)["seed"],
        state_dir=lambda wc: f"results/sweep/{wc.run}/train_state",
    script:
        "../scripts/sweep_train.py"


rule sweep_faces:
    input:
        get_code("sweep_faces"),
        generator=SWEEP_TRAIN["generator"],
    output:
        png="results/sweep/{run}/faces.png",
    log:
        "logs/sweep/{run}/faces.log",
    benchmark:
        "results/benchmarks/sweep_faces/{run}.tsv"
    conda:
        "../envs/facegan.yaml"
    params:
        rows=1,
        cols=8,
        seed=config["seed"],  # the same faces' noise for every run
    script:
        "../scripts/sweep_faces.py"


rule sweep_evaluate:
    input:
        get_code("sweep_evaluate"),
        generator=SWEEP_TRAIN["generator"],
        training_options=SWEEP_TRAIN["training_options"],
        reference="results/eval/real_reference.npz",
        classifier="results/eval/attribute_classifier",
    output:
        metrics="results/sweep/{run}/metrics.json",
    log:
        "logs/sweep/{run}/evaluate.log",
    benchmark:
        "results/benchmarks/sweep_evaluate/{run}.tsv"
    conda:
        "../envs/facegan.yaml"
    params:
        images=config["evaluate"]["images"],
        seed=config["seed"],  # the reference's: every run is measured on the same images and noise
        inception_graph=config["evaluate"]["inception_graph"],
        obedience_images=config["evaluate"]["obedience_images"],
    script:
        "../scripts/sweep_evaluate.py"


rule sweep_summary:
    input:
        get_code("sweep_summary"),
        metrics=expand("results/sweep/{run}/metrics.json", run=get_sweep_runs()),
        histories=expand(SWEEP_TRAIN["history"], run=get_sweep_runs()),
        benchmarks=expand(
            "results/benchmarks/sweep_train/{run}.tsv", run=get_sweep_runs()
        ),
        faces=expand("results/sweep/{run}/faces.png", run=get_sweep_runs()),
    output:
        summary=report(
            "results/sweep/summary.csv",
            caption="../report/sweep.rst",
            category="Sweep",
            labels={"figure": "summary table"},
        ),
        sheet=report(
            "results/sweep/faces.png",
            caption="../report/sweep.rst",
            category="Sweep",
            labels={"figure": "faces per run"},
        ),
        chart=report(
            "results/sweep/swd.png",
            caption="../report/sweep.rst",
            category="Sweep",
            labels={"figure": "quality per run"},
        ),
    log:
        "logs/sweep/summary.log",
    benchmark:
        "results/benchmarks/sweep_summary.tsv"
    conda:
        "../envs/facegan.yaml"
    params:
        runs=get_sweep_runs(),
        overrides={run: config["sweep"][run] for run in get_sweep_runs()},
    script:
        "../scripts/sweep_summary.py"


rule sweep:
    input:
        get_sweep_outputs,
