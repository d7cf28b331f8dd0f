from facegan.steps.export import grid
from facegan.steps.runner import run_rule

run_rule(grid, snakemake)
