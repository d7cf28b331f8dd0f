from facegan.steps import download

download(snakemake.output[0], log_file=snakemake.log[0], **snakemake.params.spec)
