"""facegan: DCGANs on face datasets, as a package the Snakemake workflow drives."""

__version__ = "0.1.0"
