from facegan.steps import train

out = snakemake.output
train(list(snakemake.input.shards), snakemake.input.stats, str(out.generator).rsplit("/", 1)[0],
      snakemake.params.state_dir, dict(snakemake.params.options, threads=snakemake.threads),
      resolved_config=snakemake.config, gpus_granted=snakemake.resources.get("gpu"), log_file=snakemake.log[0])
