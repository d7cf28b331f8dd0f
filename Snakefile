# facegan: DCGANs on face datasets. The workflow lives in workflow/Snakefile (its table of contents,
# in the layout of the Snakemake workflow catalog); this file lets `snakemake` run it from here.


include: "workflow/Snakefile"


workflow.default_target = "all"  # an include keeps its default target to itself
