"""The masked tabular VAE: networks, per-column likelihoods and the importance-weighted bound."""

from .vae import LIKELIHOODS, Batch, MaskedVAE, Posterior, model_size

__all__ = ["Batch", "LIKELIHOODS", "MaskedVAE", "Posterior", "model_size"]
