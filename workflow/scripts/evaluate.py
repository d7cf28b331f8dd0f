from facegan.steps import evaluate

p = snakemake.params
evaluate(snakemake.input.generator, snakemake.input.options, snakemake.input.real, snakemake.output[0], p.images,
         p.seed, p.inception_weights, log_file=snakemake.log[0])
