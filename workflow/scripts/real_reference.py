from facegan.steps.evaluate import real_reference
from facegan.steps.runner import run_rule

run_rule(real_reference, snakemake)
