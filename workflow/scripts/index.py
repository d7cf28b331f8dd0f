from facegan.steps.data import index
from facegan.steps.runner import run_rule

run_rule(index, snakemake)
