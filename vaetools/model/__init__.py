"""The masked tabular VAE: networks, per-column likelihoods and the importance-weighted bound."""

from .particles import PRECISIONS, Particles, Posterior, fast_bfloat16, quasi_normal
from .vae import LIKELIHOODS, MAX_MODEL_SIZE, Batch, MaskedVAE, model_size

__all__ = ["Batch", "LIKELIHOODS", "MAX_MODEL_SIZE", "MaskedVAE", "PRECISIONS", "Particles", "Posterior",
           "fast_bfloat16", "model_size", "quasi_normal"]
