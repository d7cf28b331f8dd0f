from facegan.steps import data_stats

data_stats(snakemake.input.counts, list(snakemake.input.reports), snakemake.output.manifest,
           snakemake.output.stats, snakemake.params.settings, log_file=snakemake.log[0])
