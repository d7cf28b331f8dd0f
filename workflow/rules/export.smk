# Export stage: pictures from the trained generator. Each rule reads only the files and keys it uses
# and runs on the CPU (CUDA_VISIBLE_DEVICES cleared), so it never competes with training for a GPU.


rule sample:
    input:
        get_code("sample"),
        generator=TRAIN["generator"],
    output:
        samples=report(
            directory("results/export/samples"),
            patterns=["{name}.png"],
            caption="../report/samples.rst",
            category="Generated faces",
            labels={"figure": "sample {name}"},
        ),
    log:
        "logs/sample.log",
    benchmark:
        "results/benchmarks/sample.tsv"
    conda:
        "../envs/facegan.yaml"
    params:
        n=config["export"]["samples"],
        seed=config["seed"],
    script:
        "../scripts/sample.py"


rule grid:
    input:
        get_code("grid"),
        generator=TRAIN["generator"],
    output:
        png=report(
            "results/export/grid.png",
            caption="../report/grid.rst",
            category="Generated faces",
            labels={"figure": "grid"},
        ),
    log:
        "logs/grid.log",
    benchmark:
        "results/benchmarks/grid.tsv"
    conda:
        "../envs/facegan.yaml"
    params:
        rows=config["export"]["grid"]["rows"],
        cols=config["export"]["grid"]["cols"],
        seed=config["seed"],
    script:
        "../scripts/grid.py"


rule conditions_sheet:
    input:
        get_code("conditions_sheet"),
        generator=TRAIN["generator"],
    output:
        png=report(
            "results/export/conditions.png",
            caption="../report/conditions.rst",
            category="Generated faces",
            labels={"figure": "conditions"},
        ),
    log:
        "logs/conditions_sheet.log",
    benchmark:
        "results/benchmarks/conditions_sheet.tsv"
    conda:
        "../envs/facegan.yaml"
    params:
        cols=config["export"]["grid"]["cols"],
        seed=config["seed"],
    script:
        "../scripts/conditions_sheet.py"


rule progress_gif:
    input:
        get_code("progress_gif"),
        progress=TRAIN["progress"],
    output:
        gif=report(
            "results/export/progress.gif",
            caption="../report/progress_gif.rst",
            category="Training",
            labels={"figure": "progress (animated)"},
        ),
        mp4=report(
            "results/export/progress.mp4",
            caption="../report/progress_mp4.rst",
            category="Training",
            labels={"figure": "progress (video)"},
        ),
        png=report(
            "results/export/progress.png",
            caption="../report/progress_png.rst",
            category="Training",
            labels={"figure": "progress (last epoch)"},
        ),
    log:
        "logs/progress_gif.log",
    benchmark:
        "results/benchmarks/progress_gif.tsv"
    conda:
        "../envs/facegan.yaml"
    params:
        fps=config["export"]["gif"]["fps"],
    script:
        "../scripts/progress_gif.py"


rule plot_losses:
    input:
        get_code("plot_losses"),
        history=TRAIN["history"],
        steps=TRAIN["steps"],
    output:
        png=report(
            "results/export/losses.png",
            caption="../report/losses.rst",
            category="Training",
            labels={"figure": "losses"},
        ),
    log:
        "logs/plot_losses.log",
    benchmark:
        "results/benchmarks/plot_losses.tsv"
    conda:
        "../envs/facegan.yaml"
    script:
        "../scripts/plot_losses.py"


rule plot_swd:
    input:
        get_code("plot_swd"),
        swd=TRAIN["swd"],
    output:
        png=report(
            "results/export/swd.png",
            caption="../report/swd.rst",
            category="Training",
            labels={"figure": "SWD during training"},
        ),
    log:
        "logs/plot_swd.log",
    benchmark:
        "results/benchmarks/plot_swd.tsv"
    conda:
        "../envs/facegan.yaml"
    script:
        "../scripts/plot_swd.py"


rule plot_attributes:
    input:
        get_code("plot_attributes"),
        metrics="results/eval/metrics.json",
    output:
        png=report(
            "results/export/attributes.png",
            caption="../report/attributes.rst",
            category="Metrics",
            labels={"figure": "attributes"},
        ),
    log:
        "logs/plot_attributes.log",
    benchmark:
        "results/benchmarks/plot_attributes.tsv"
    conda:
        "../envs/facegan.yaml"
    script:
        "../scripts/plot_attributes.py"


rule interpolate:
    input:
        get_code("interpolate"),
        generator=TRAIN["generator"],
    output:
        png=report(
            "results/export/interpolation.png",
            caption="../report/interpolation.rst",
            category="Generated faces",
            labels={"figure": "interpolation"},
        ),
        gif=report(
            "results/export/interpolation.gif",
            caption="../report/interpolation_gif.rst",
            category="Generated faces",
            labels={"figure": "interpolation (animated)"},
        ),
    log:
        "logs/interpolate.log",
    benchmark:
        "results/benchmarks/interpolate.tsv"
    conda:
        "../envs/facegan.yaml"
    params:
        steps=config["export"]["interpolation"]["steps"],
        rows=config["export"]["interpolation"]["rows"],
        seed=config["seed"],
    script:
        "../scripts/interpolate.py"


rule compare:
    input:
        get_code("compare"),
        generator=TRAIN["generator"],
        shards=get_shard_files(),
    output:
        png=report(
            "results/export/real_vs_fake.png",
            caption="../report/real_vs_fake.rst",
            category="Generated faces",
            labels={"figure": "real vs generated"},
        ),
    log:
        "logs/compare.log",
    benchmark:
        "results/benchmarks/compare.tsv"
    conda:
        "../envs/facegan.yaml"
    params:
        n=config["export"]["compare"],
        resolution=config["preprocess"]["resolution"],
        seed=config["seed"],
    script:
        "../scripts/compare.py"


rule job_costs:
    input:
        get_code("job_costs"),
        benchmarks=get_benchmark_files,
    output:
        tsv="results/benchmarks/summary.tsv",
        png=report(
            "results/benchmarks/summary.png",
            caption="../report/job_costs.rst",
            category="Workflow",
            labels={"figure": "time and memory per rule"},
        ),
    log:
        "logs/job_costs.log",
    benchmark:
        "results/benchmarks/job_costs.tsv"
    conda:
        "../envs/facegan.yaml"
    script:
        "../scripts/job_costs.py"


rule export:
    input:
        get_export_outputs(),


rule export_model:
    input:
        get_code("export_model"),
        generator=TRAIN["generator"],
    output:
        savedmodel=directory("results/export/generator_savedmodel"),
        onnx="results/export/generator.onnx",
        serving=report(
            "results/export/serving.json",
            caption="../report/serving.rst",
            category="Generated faces",
            labels={"figure": "serving exports"},
        ),
    log:
        "logs/export_model.log",
    benchmark:
        "results/benchmarks/export_model.tsv"
    conda:
        "../envs/facegan.yaml"
    params:
        seed=config["seed"],
    script:
        "../scripts/export_model.py"
