"""vaetools: impute and compress tabular data with variational autoencoders."""

from vaetools import ops
from vaetools.impute import VAEImputer

__version__ = "0.1.0"

__all__ = ["VAEImputer", "ops", "__version__"]
