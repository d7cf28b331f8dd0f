from facegan.steps import index

p = snakemake.params
index(snakemake.input[0], snakemake.output.index, snakemake.output.counts, p.split, p.limit, p.shards,
      log_file=snakemake.log[0])
