from facegan.steps.export import plot_swd
from facegan.steps.runner import run_rule

run_rule(plot_swd, snakemake)
