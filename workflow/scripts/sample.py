from facegan.steps.export import sample
from facegan.steps.runner import run_rule

run_rule(sample, snakemake)
