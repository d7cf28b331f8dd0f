from facegan.steps.data import download
from facegan.steps.runner import run_rule

run_rule(download, snakemake)
