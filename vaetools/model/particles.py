"""Importance-weighted inference: k particles per row decoded into buffers reused chunk after chunk.

Imputing a chunk of adult (256 rows x 32 draws) made a dozen 4 MB temporaries, and on these
VMs the page faults of fresh allocations cost about as much as the arithmetic: the same decoder
ran in 4.7 ms into reused buffers against 10.5 ms allocating (2-core dev VM, median of 40). So
the decoder writes into buffers held here, transposed to (outputs, k, rows), and
``torch.ops.vaetools.particle_weights_`` (csrc/particle_weights_cpu.cpp; PyTorch fallback in
vaetools/ops/_reference.py) reads each output once, a tile of rows at a time: the importance
weights, each output's weighted mean, and scales and category probabilities in place. It
computes the likelihood that ``MaskedVAE.log_likelihood`` gives training (tests/test_particles.py).

``precision="bfloat16"`` runs the decoder's layers, its linear path included, in bfloat16, and
all that follows in the model's own precision. On a CPU with bfloat16 matrix instructions
(AVX512-BF16, AMX) their products run 2.4x-3.5x as fast as float32's; what it changes in an
imputation is a tenth or less of the Monte Carlo error of the 32 draws themselves (adult: 0.012
against 0.160 standard deviations, root mean square over hidden cells; benchmarks/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vaetools.ops import reparameterize_kl

from .vae import Batch, MaskedVAE

PRECISIONS = ("float32", "bfloat16")
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@dataclass
class Posterior:
    """Per row, what imputation reads off the particles: expectations (``Particles.posterior``)
    or one draw (``Particles.resample``)."""

    num: torch.Tensor  # (B, n_num) standardized
    bin: torch.Tensor  # (B, n_bin) probability of code 1, or a 0/1 draw
    cat: list[torch.Tensor]  # per categorical column, (B, n_categories) probabilities, or a one-hot draw


def quasi_normal(k: int, d: int, seed: int) -> torch.Tensor:
    """k points of d standard normals, spread more evenly than random draws: scrambled Sobol
    points mapped through the normal quantile. With k a power of two, each coordinate puts one
    point in each of k equally likely intervals, so an importance-weighted mean over them
    carries less Monte Carlo error than one over random draws (benchmarks/RESULTS.md)."""
    if d > torch.quasirandom.SobolEngine.MAXDIM:  # beyond Sobol's tables: random draws
        return torch.randn(k, d, generator=torch.Generator().manual_seed(seed))
    u = torch.quasirandom.SobolEngine(d, scramble=True, seed=seed).draw(k, dtype=torch.float64)
    return torch.special.ndtri(u.clamp_(2.0 ** -40, 1 - 2.0 ** -40)).to(torch.float32)


def fast_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (AVX512-BF16 or AMX); without,
    torch emulates them, slower than float32."""
    checks = (getattr(torch.cpu, "_is_avx512_bf16_supported", None),
              getattr(torch.cpu, "_is_amx_tile_supported", None))  # private: absent in some versions
    return any(check is not None and bool(check()) for check in checks)


class Particles:
    """What k particles per row say about each row: their decoder outputs and self-normalized
    importance weights, read off with ``posterior`` (expectations) or ``resample`` (one
    particle per row, for multiple imputation). Holds buffers for up to ``max_rows`` rows of
    ``k`` particles and overwrites them at each ``decode``."""

    def __init__(self, model: MaskedVAE, max_rows: int, k: int, precision: str = "float32"):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if model.decoder_ar is not None:
            raise ValueError("Particles decodes from the latent alone; this model has an autoregressive branch")
        self.model, self.k, self.max_rows = model, int(k), int(max_rows)
        first = next(model.parameters())
        device, own = first.device, first.dtype
        dtype = own if precision == "float32" else _DTYPES[precision]  # "float32": the model's own
        linears = [layer for layer in model.decoder if isinstance(layer, nn.Linear)]
        if any(not isinstance(layer, (nn.Linear, nn.SiLU)) for layer in model.decoder):
            raise ValueError("Particles expects a decoder of Linear layers with SiLU between them")
        self._dtype = dtype
        weights = [layer.weight.detach() for layer in linears]
        # the linear path joins the last layer: its latent columns sit beside the last hidden
        # layer's (or, with no hidden layer, its weights add to the last layer's), so one product
        # gives the outputs, where adding it on after took a pass over them (adult: 3 ms of 20
        # a chunk of 32,768 particles)
        self._skip_columns = 0
        if model.decoder_skip is not None:
            skip = model.decoder_skip.weight.detach()
            if len(linears) > 1:
                weights[-1] = torch.cat([weights[-1], skip], dim=1)
                self._skip_columns = skip.shape[1]
            else:
                weights[-1] = weights[-1] + skip
        self._layers = [(w.to(dtype), layer.bias.detach().to(dtype)) for w, layer in zip(weights, linears)]
        n = self.max_rows * self.k
        widths = [w.shape[0] for w, _ in self._layers[:-1]]
        if widths:
            widths[-1] += self._skip_columns  # room for the latent beside the last hidden layer
        self._hidden = [torch.empty(n, width, dtype=dtype, device=device) for width in widths]
        # flat, so that a smaller chunk's (outputs, particles) is a contiguous prefix
        self._n_out = linears[-1].out_features
        self._out = torch.empty(self._n_out * n, dtype=own, device=device)
        self._out_low = None if dtype == own else torch.empty(self._n_out * n, dtype=dtype, device=device)
        self.out: torch.Tensor | None = None
        self.weights: torch.Tensor | None = None
        self._means: torch.Tensor | None = None

    @torch.no_grad()
    def decode(self, b: Batch, eps: torch.Tensor) -> "Particles":
        """Draw the particles of b's rows (the same ``eps`` (k, d) for every row, so that results
        do not depend on which rows share a chunk) and weigh them by the likelihood of each
        row's observed cells. Afterwards ``out`` holds, for (outputs, k, rows): numeric locs,
        numeric scales, binary logits, then each categorical column's probabilities."""
        m = self.model
        rows, k = b.num.shape[0], eps.shape[0]
        if k != self.k or rows > self.max_rows:
            raise ValueError(f"Particles holds {self.max_rows} rows x {self.k} draws; got {rows} x {k}")
        mu, logvar = m.encode(b)
        empty = ~b.observed_rows()
        if empty.any():  # nothing observed: the posterior is the prior
            mu = torch.where(empty[:, None], torch.zeros_like(mu), mu)
            logvar = torch.where(empty[:, None], torch.zeros_like(logvar), logvar)
        z, _, log_ratio = reparameterize_kl(mu, logvar, eps=eps[:, None, :].expand(k, rows, -1))
        n = k * rows
        z = z.reshape(n, -1)
        h = z.to(self._dtype)
        for (w, bias), buf in zip(self._layers[:-1], self._hidden):
            layer = buf[:n, :w.shape[0]]
            F.silu(torch.addmm(bias, h, w.T, out=layer), inplace=True)
            h = buf[:n]
        if self._skip_columns:
            h[:, -self._skip_columns:] = z
        w, bias = self._layers[-1]
        out = self._out[:self._n_out * n].view(self._n_out, n)
        if self._out_low is None:
            torch.addmm(bias[:, None], w, h.T, out=out)
        else:
            out.copy_(torch.addmm(bias[:, None], w, h.T, out=self._out_low[:self._n_out * n].view(self._n_out, n)))
        out = out.view(-1, k, rows)
        df = m.degrees_of_freedom()
        self.weights, self._means = torch.ops.vaetools.particle_weights_(
            out, log_ratio, b.num, b.m_num, b.bin, b.m_bin, b.cat, b.m_cat, m.min_scale.to(out.dtype),
            None if df is None else df.detach().to(out.dtype), m.cat_sizes)
        self.out = out
        return self

    def cat_blocks(self):
        """Each categorical column's probabilities, (size, k, rows)."""
        start = 2 * self.model.n_num + self.model.n_bin
        for size in self.model.cat_sizes:
            yield self.out[start:start + size]
            start += size

    @torch.no_grad()
    def posterior(self) -> Posterior:
        """Self-normalized importance-weighted expectations of every cell given the observed ones."""
        m, means = self.model, self._means  # (outputs, rows), weighed by the op
        n, nb = m.n_num, m.n_bin
        cats, start = [], 2 * n + nb
        for size in m.cat_sizes:  # each column's (rows, categories) contiguous, for argmax over a row
            cats.append(means[start:start + size].T.contiguous())
            start += size
        return Posterior(num=means[:n].T, bin=means[2 * n:2 * n + nb].T, cat=cats)

    @torch.no_grad()
    def resample(self, generator: torch.Generator) -> Posterior:
        """One draw of every cell from p(x_mis | x_obs) by sampling importance resampling:
        a particle per row drawn by weight, then each cell from that particle's likelihood;
        numeric cells with the model's ``draw_scale``."""
        m, out, w = self.model, self.out, self.weights
        n, nb = m.n_num, m.n_bin
        idx = torch.multinomial(w.T.cpu(), 1, generator=generator).squeeze(1).to(w.device)  # (rows,)
        rows = torch.arange(w.shape[1], device=w.device)
        loc, scale = out[:n, idx, rows].T, m.draw_scale(out[n:2 * n, idx, rows].T)
        noise = torch.randn(loc.shape, generator=generator).to(loc.device)
        if m.likelihood == "student_t":
            df = m.degrees_of_freedom().detach().cpu()
            noise = torch.distributions.StudentT(df).sample((loc.shape[0],)).to(loc.device) \
                if loc.numel() else noise
        num = loc + scale * noise
        u = torch.rand((w.shape[1], nb), generator=generator).to(loc.device)
        bins = (u < torch.sigmoid(out[2 * n:2 * n + nb, idx, rows].T)).float()
        cats = []
        for block in self.cat_blocks():
            chosen = block[:, idx, rows].T  # (rows, size): the resampled particle's probabilities
            draw = torch.multinomial(chosen.cpu(), 1, generator=generator).squeeze(1)
            cats.append(F.one_hot(draw, chosen.shape[1]).float().to(loc.device))
        return Posterior(num=num, bin=bins, cat=cats)
