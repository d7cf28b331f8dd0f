from facegan.steps.data import data_stats
from facegan.steps.runner import run_rule

run_rule(data_stats, snakemake)
