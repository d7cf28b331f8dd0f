from facegan.steps import export

inputs = dict(snakemake.input.items())
params = dict(snakemake.params.items())
if "shards" in inputs:
    params["shards"] = list(snakemake.input.shards)
if "progress_dir" in inputs:
    params["progress_dir"] = inputs["progress_dir"]
if "history" in inputs:
    params["history"] = inputs["history"]
outputs = {"dir": snakemake.output[0]} if snakemake.rule == "sample" else dict(snakemake.output.items())
export(snakemake.rule, inputs.get("generator", ""), outputs, log_file=snakemake.log[0], **params)
