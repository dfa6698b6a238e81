"""vaetools: impute and compress tabular data with variational autoencoders."""

from vaetools import ops
from vaetools.compress import VAECompressor, compress, decompress, info
from vaetools.impute import VAEImputer

__version__ = "0.1.0"

__all__ = ["VAECompressor", "VAEImputer", "compress", "decompress", "info", "ops", "__version__"]
