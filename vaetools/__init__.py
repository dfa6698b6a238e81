"""vaetools: impute and compress tabular data with variational autoencoders."""

from vaetools import ops

__version__ = "0.1.0"

__all__ = ["ops", "__version__"]
