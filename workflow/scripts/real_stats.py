from facegan.steps import real_stats

p = snakemake.params
real_stats(list(snakemake.input.shards), snakemake.input.stats, snakemake.output[0], p.resolution, p.images, p.seed,
           p.inception_weights, log_file=snakemake.log[0])
