from facegan.steps.evaluate import attribute_classifier
from facegan.steps.runner import run_rule

run_rule(attribute_classifier, snakemake)
