# facegan: DCGANs on face datasets. Read this file as the table of contents; rules live in
# workflow/rules/, logic in the facegan package (src/facegan/).
from snakemake.utils import min_version, validate

from facegan.config import check_config, schema_path

min_version("9.0")


report: "workflow/report/workflow.rst"


configfile: "config/config.yaml"


check_config(config, schema_path())
validate(config, str(schema_path()))


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/export.smk"
include: "workflow/rules/evaluate.smk"


rule all:
    default_target: True
    input:
        get_final_outputs(),
