from facegan.steps.runner import run_rule
from facegan.steps.train import train

run_rule(train, snakemake, threads=snakemake.threads, gpus_granted=snakemake.resources.get("gpu"))
