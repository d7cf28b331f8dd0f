from facegan.config import sweep_run_config
from facegan.steps.runner import run_rule
from facegan.steps.train import train

run_rule(train, snakemake, threads=snakemake.threads, gpus_granted=snakemake.resources.get("gpu"),
         config=sweep_run_config(snakemake.config, snakemake.wildcards.run))
