# Export stage: pictures from the trained generator. Each rule reads only the files and keys it uses
# and runs on the CPU (CUDA_VISIBLE_DEVICES cleared), so it never competes with training for a GPU.


rule sample:
    input:
        get_code("sample"),
        generator="results/train/generator.keras",
    output:
        samples=directory("results/export/samples"),
    log:
        "logs/sample.log",
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
        generator="results/train/generator.keras",
    output:
        png=report(
            "results/export/grid.png",
            caption="../report/grid.rst",
            category="Generated faces",
        ),
    log:
        "logs/grid.log",
    conda:
        "../envs/facegan.yaml"
    params:
        rows=config["export"]["grid"]["rows"],
        cols=config["export"]["grid"]["cols"],
        seed=config["seed"],
    script:
        "../scripts/grid.py"


rule progress_gif:
    input:
        get_code("progress_gif"),
        progress="results/train/progress",
    output:
        gif=report(
            "results/export/progress.gif",
            caption="../report/progress_gif.rst",
            category="Training",
        ),
        png=report(
            "results/export/progress.png",
            caption="../report/progress_png.rst",
            category="Training",
        ),
    log:
        "logs/progress_gif.log",
    conda:
        "../envs/facegan.yaml"
    params:
        fps=config["export"]["gif"]["fps"],
    script:
        "../scripts/progress_gif.py"


rule plot_losses:
    input:
        get_code("plot_losses"),
        history="results/train/history.csv",
    output:
        png=report(
            "results/export/losses.png",
            caption="../report/losses.rst",
            category="Training",
        ),
    log:
        "logs/plot_losses.log",
    conda:
        "../envs/facegan.yaml"
    script:
        "../scripts/plot_losses.py"


rule plot_swd:
    input:
        get_code("plot_swd"),
        swd="results/train/swd.csv",
    output:
        png=report(
            "results/export/swd.png",
            caption="../report/swd.rst",
            category="Training",
        ),
    log:
        "logs/plot_swd.log",
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
        ),
    log:
        "logs/plot_attributes.log",
    conda:
        "../envs/facegan.yaml"
    script:
        "../scripts/plot_attributes.py"


rule interpolate:
    input:
        get_code("interpolate"),
        generator="results/train/generator.keras",
    output:
        png=report(
            "results/export/interpolation.png",
            caption="../report/interpolation.rst",
            category="Generated faces",
        ),
        gif=report(
            "results/export/interpolation.gif",
            caption="../report/interpolation_gif.rst",
            category="Generated faces",
        ),
    log:
        "logs/interpolate.log",
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
        generator="results/train/generator.keras",
        shards=get_shard_files(),
    output:
        png=report(
            "results/export/real_vs_fake.png",
            caption="../report/real_vs_fake.rst",
            category="Generated faces",
        ),
    log:
        "logs/compare.log",
    conda:
        "../envs/facegan.yaml"
    params:
        n=config["export"]["compare"],
        resolution=config["preprocess"]["resolution"],
        seed=config["seed"],
    script:
        "../scripts/compare.py"


rule export:
    input:
        get_export_outputs(),
