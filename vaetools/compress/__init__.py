"""Lossy table compression: VAECompressor, the .vtz file format and its entropy models."""

from .compressor import VAECompressor, compress, decompress, info
from .container import FORMAT_VERSION, VTZError

__all__ = ["FORMAT_VERSION", "VAECompressor", "VTZError", "compress", "decompress", "info"]
