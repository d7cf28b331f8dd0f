from facegan.steps.export import plot_attributes
from facegan.steps.runner import run_rule

run_rule(plot_attributes, snakemake)
