from facegan.steps.export import compare
from facegan.steps.runner import run_rule

run_rule(compare, snakemake)
