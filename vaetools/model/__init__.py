"""The masked tabular VAE: networks, per-column likelihoods and the importance-weighted bound."""

from .vae import LIKELIHOODS, MAX_MODEL_SIZE, Batch, MaskedVAE, Posterior, model_size

__all__ = ["Batch", "LIKELIHOODS", "MAX_MODEL_SIZE", "MaskedVAE", "Posterior", "model_size"]
