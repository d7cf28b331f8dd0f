from facegan.steps.evaluate import evaluate
from facegan.steps.runner import run_rule

run_rule(evaluate, snakemake)
