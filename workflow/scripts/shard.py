from facegan.steps import shard

shard(snakemake.input.index, int(snakemake.wildcards.shard), snakemake.output.shard, snakemake.output.report,
      log_file=snakemake.log[0], **snakemake.params.settings)
