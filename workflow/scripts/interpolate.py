from facegan.steps.export import interpolate
from facegan.steps.runner import run_rule

run_rule(interpolate, snakemake)
