"""The training loop shared by the imputer and the compressor.

Adam on minibatches of rows with the step size decayed along a cosine over the planned steps,
the MIWAE bound over observed cells, and optionally early stopping on a held-out share of the
observed cells (hidden from the encoder and the likelihood during training, scored by how well
the model predicts them). The best weights by that score (or by the training loss when nothing
is held out) are restored at the end.

Why a cosine rather than halving on a plateau: on the benchmark tables imputation error kept
falling long after the held-out score had gone flat; the plateau rule stopped wine_quality_red at
~50 epochs with RMSE 0.785, a cosine over 240 epochs reaches 0.750 (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch

from vaetools.model import Batch, MaskedVAE
from vaetools.ops import reparameterize_kl
from vaetools.tabular import EncodedTable, TableEncoder


@dataclass
class TrainConfig:
    k: int = 5
    beta: float = 1.0  # weight of the KL (the latent rate) when k == 1
    batch_size: int | None = None  # None: chosen from the number of rows
    learning_rate: float = 3e-3  # the peak; it decays to 0 along a cosine over max_epochs
    max_epochs: int = 200
    patience: int = 12  # epochs without a better held-out score before stopping
    validation_fraction: float = 0.0
    verbose: int = 0
    max_grad_norm: float = 10.0
    min_patience_steps: int = 300


def resolve_device(device: str | torch.device) -> torch.device:
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but torch sees no CUDA GPU; use device='cpu' or 'auto'")
    return dev


def to_batch(encoder: TableEncoder, enc: EncodedTable, device, num_bin: np.ndarray | None = None) -> Batch:
    """The whole table as tensors on ``device``; ``num_bin`` (n, n_num, 2): optional edges of the
    numeric cells' quantization bins in standardized units (see MaskedVAE.binned_log_prob)."""
    m = enc.mask
    as_t = lambda a, dt=torch.float32: torch.as_tensor(np.ascontiguousarray(a), dtype=dt, device=device)  # noqa: E731
    # zero-mass columns: their "nonzero" channels join the binary ones, and their numeric
    # value counts only where it is nonzero
    m_num = m[:, encoder.num_cols]  # a copy (fancy indexing)
    bins, m_bin = enc.bin, m[:, encoder.bin_cols]
    if encoder.zero_cols:
        m_num[:, [encoder.num_cols.index(j) for j in encoder.zero_cols]] &= enc.nonzero > 0
        bins = np.concatenate([bins, enc.nonzero], axis=1)
        m_bin = np.concatenate([m_bin, m[:, encoder.zero_cols]], axis=1)
    return Batch(num=as_t(enc.num), bin=as_t(bins), cat=as_t(enc.cat, torch.int64),
                 m_num=as_t(m_num), m_bin=as_t(m_bin),
                 m_cat=as_t(m[:, encoder.cat_cols]), num_bin=None if num_bin is None else as_t(num_bin))


def batch_size_for(n_rows: int, requested: int | None) -> int:
    """Rows per step: ``requested``, or about 1/32 of the table within [64, 1024]."""
    size = requested or int(np.clip(n_rows // 32, 64, 1024))
    return max(1, min(size, n_rows))


def _split_cells(b: Batch, fraction: float, gen: torch.Generator) -> tuple[Batch, Batch]:
    """Hide ``fraction`` of the observed cells: (training view, held-out view)."""
    held_masks = []
    for m in (b.m_num, b.m_bin, b.m_cat):
        u = torch.rand(m.shape, generator=gen).to(m.device)
        held_masks.append(m * (u < fraction).float())
    train = b.with_masks(*(m - h for m, h in zip((b.m_num, b.m_bin, b.m_cat), held_masks)))
    held = b.with_masks(*held_masks)
    return train, held


class _Progress:
    def __init__(self, total: int, enabled: bool, validated: bool):
        self.total, self.enabled, self.start = total, enabled, time.perf_counter()
        self.validated = validated
        self.tty = sys.stderr.isatty()

    def update(self, epoch: int, loss: float, score: float, best: float, final: bool = False):
        if not self.enabled:
            return
        width = 24
        done = int(width * epoch / self.total)
        bar = "#" * done + "." * (width - done)
        line = f"\r[{bar}] epoch {epoch}/{self.total}  loss {loss:.4f}"
        if self.validated:
            line += f"  val err/cell {score:.4f}  best {best:.4f}"
        line += f"  {time.perf_counter() - self.start:.1f}s"
        if self.tty:
            sys.stderr.write(line + ("\n" if final else ""))
        elif final or epoch == 1 or epoch % 10 == 0:  # logs and pipes get a line now and then
            sys.stderr.write(line[1:] + "\n")
        sys.stderr.flush()


class FusedAdam:
    """Adam (betas 0.9, 0.999, eps 1e-8, no weight decay) with the whole update in one fused
    call, ``torch._fused_adam_``, the kernel ``torch.optim.Adam(fused=True)`` runs, with the
    same state and arguments, so the same steps to the bit. Not torch.optim because creating
    any of its optimizers imports torch._dynamo: 1.6 s of every process's first fit, a command
    line's included. Parameters without a gradient are left alone, as torch.optim does. Its
    step size is ``param_groups[0]["lr"]``, where schedules set torch.optim's."""

    def __init__(self, params, lr: float):
        self.params, self.param_groups = list(params), [{"lr": float(lr)}]
        self.state: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        groups: dict[tuple, list[list[torch.Tensor]]] = {}
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            if i not in self.state:  # exp_avg, exp_avg_sq, step count (float32, as torch keeps it)
                self.state[i] = (torch.zeros_like(p, memory_format=torch.preserve_format),
                                 torch.zeros_like(p, memory_format=torch.preserve_format),
                                 torch.zeros((), dtype=torch.float32, device=p.device))
            lists = groups.setdefault((p.device, p.dtype), [[], [], [], [], []])
            for lst, t in zip(lists, (p, p.grad, *self.state[i])):
                lst.append(t)
        for params, grads, exp_avgs, exp_avg_sqs, steps in groups.values():
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(params, grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False,
                               lr=self.param_groups[0]["lr"],
                               beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8, maximize=False,
                               grad_scale=None, found_inf=None)


def train(model: MaskedVAE, data: Batch, config: TrainConfig, seed: int) -> list[dict]:
    """Fit ``model`` on ``data`` in place; returns the history, one dict per epoch."""
    gen = torch.Generator().manual_seed(seed)
    n = data.num.shape[0]
    held_cells = 0.0
    if config.validation_fraction > 0 and n >= 10:
        train_data, held = _split_cells(data, config.validation_fraction, gen)
        held_cells = float(held.m_num.sum() + held.m_bin.sum() + held.m_cat.sum())
    else:
        train_data, held = data, None
    if held_cells == 0:
        held = None
    batch_size = batch_size_for(n, config.batch_size)
    steps_per_epoch = math.ceil(n / batch_size)
    # on small tables an epoch is a handful of steps: wait at least min_patience_steps too
    patience = max(config.patience, math.ceil(config.min_patience_steps / steps_per_epoch))
    # the fused kernel does the whole update in one call: on small tables the per-tensor
    # update loop was a quarter of a step's time
    if data.num.device.type in ("cpu", "cuda"):
        optimizer = FusedAdam(model.parameters(), lr=config.learning_rate)
    else:  # no fused kernel on this device: torch.optim's update, one call per tensor
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    total_steps, step = steps_per_epoch * config.max_epochs, 0
    # gathering each batch's rows cost ~7 indexing calls per step; gathering 32 batches at once
    # and slicing them (views) trains on the same batches
    gather_rows = batch_size * 32
    progress = _Progress(config.max_epochs, config.verbose > 0, held is not None)
    history: list[dict] = []
    best_score, best_state, since_best = math.inf, None, 0
    for epoch in range(1, config.max_epochs + 1):
        model.train()
        order = torch.randperm(n, generator=gen).to(data.num.device)
        # the epoch's loss summed where it is computed: a float() per step would make the CPU wait
        # for a GPU at every step. In float64, as Python's floats summed it: the same history
        total, batches = torch.zeros((), dtype=torch.float64, device=data.num.device), 0
        for start in range(0, n, batch_size):
            if start % gather_rows == 0:  # rows of the next batches in one gather per tensor
                block = train_data[order[start:start + gather_rows]]
            offset = start % gather_rows
            for group in optimizer.param_groups:
                group["lr"] = 0.5 * config.learning_rate * (1 + math.cos(math.pi * step / total_steps))
            step += 1
            loss = model.loss(block[offset:offset + batch_size], config.k, config.beta)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            total += loss.detach().double()
            batches += 1
        model.eval()
        train_loss = float(total) / max(batches, 1)
        if held is not None:
            score = float(model.heldout_error(train_data, held)) / held_cells
        else:
            score = train_loss
        if not math.isfinite(train_loss):
            raise FloatingPointError(
                f"training diverged at epoch {epoch} (loss {train_loss}); lower learning_rate or "
                "check the data for extreme values")
        improved = not math.isfinite(best_score) or score < best_score - 1e-4 * abs(best_score)
        if improved:
            best_score, since_best = score, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            since_best += 1
        history.append({"epoch": epoch, "loss": train_loss, "val_score": score})
        stop = held is not None and since_best >= patience  # the training loss alone stops nothing
        progress.update(epoch, train_loss, score, best_score, final=stop or epoch == config.max_epochs)
        if stop:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


def fit_draw_scale(model: MaskedVAE, data: Batch, k: int, seed: int, rows: int = 8192,
                   hide: float = 0.1, chunk_rows: int = 2048, cells: int = 65536) -> None:
    """Give a trained ``model`` the per-column factors on its scale that multiple imputation
    draws with (``MaskedVAE.add_draw_scale``), fitted to the cells it draws: ones the encoder
    did not see. Rows of the table, cycled through, each hide ``hide`` of their observed cells
    from the encoder, until ``rows`` of them have a numeric cell hidden (at most 8x as many
    are drawn); ``k`` latent draws per row are weighed by how well they explain the cells still
    seen (as ``Particles`` weighs them), and the factors maximize the
    likelihood of the hidden numeric cells under that mixture. The model is frozen, so the
    particles are drawn once and the factors (one per numeric column) fitted to them by L-BFGS
    on the whole set: 0.3-0.6 s, where 300 Adam steps of 64 rows, each drawing its own
    particles, took ~1 s on a small table and ~2 s on adult. Nothing else in the model changes,
    and so neither does any point imputation. ``k``: enough particles that the mixture has its
    spread; with few, the factors widen to make up for it (concrete at 30% MCAR: 0.963 of hidden
    cells within the range of 19 draws with 5 particles, 0.961 with 8, 0.94 with 32). Factors
    fitted with 32 serve imputation with 8 to 128 particles (0.933-0.943). On wide tables the
    draw stops at ``cells`` hidden cells, and a chunk's particles are held within ~2**24 decoder
    outputs: 500 rows of 2,000 numeric columns took 71 s of a 75 s fit without either."""
    model.add_draw_scale()
    if model.n_num == 0:
        return
    gen = torch.Generator().manual_seed(seed)
    n = data.num.shape[0]
    device = data.num.device
    # the hidden cells alone, as (k, cells): residuals and log scales before any factor, the
    # numeric column and the row of each; and each row's particle weights, (k, rows)
    log_w, resid, log_scale, cols, rows_of = [], [], [], [], []
    kept, drawn, n_cells, order = 0, 0, 0, torch.zeros(0, dtype=torch.int64)
    outputs = 2 * model.n_num + model.n_bin + sum(model.cat_sizes)  # the decoder's, per particle
    chunk_rows = max(16, min(chunk_rows, 2**24 // (k * outputs)))
    with torch.no_grad():
        while kept < rows and n_cells < cells and drawn < 8 * rows:
            while len(order) < chunk_rows:
                order = torch.cat([order, torch.randperm(n, generator=gen)])
            picks, order = order[:chunk_rows], order[chunk_rows:]
            drawn += chunk_rows
            b = data[picks.to(device)]
            seen, held = _split_cells(b, hide, gen)
            useful = torch.nonzero(held.m_num.sum(1) > 0).squeeze(1)  # the others add nothing
            if not useful.numel():
                continue
            b, seen, held = b[useful], seen[useful], held[useful]
            mu, logvar = model.encode(seen)
            z, _, log_ratio = reparameterize_kl(mu, logvar, k=k, generator=gen)
            p = model.decode(z)
            log_w.append(torch.log_softmax(model.log_likelihood(p, seen) + log_ratio, dim=0))
            r, c = torch.nonzero(held.m_num > 0, as_tuple=True)
            n_cells += r.numel()
            resid.append(((b.num - p["loc"]) / p["scale"])[:, r, c])
            log_scale.append(torch.log(p["scale"])[:, r, c])
            cols.append(c)
            rows_of.append(r + kept)
            kept += useful.numel()
    if not kept:
        return
    log_w, resid, log_scale = torch.cat(log_w, 1), torch.cat(resid, 1), torch.cat(log_scale, 1)
    cols, rows_of = torch.cat(cols), torch.cat(rows_of)
    n_hidden = float(cols.numel())

    def loss_and_grad(log_factor: torch.Tensor) -> tuple[float, torch.Tensor]:
        with torch.enable_grad():
            log_factor = log_factor.detach().requires_grad_(True)
            # the factor as fitted, below 1 too (``MaskedVAE.draw_scale`` draws with at least 1)
            a = log_factor[cols]
            cell = model.residual_log_prob(resid * torch.exp(-a), log_scale + a, cols)
            ll = torch.zeros_like(log_w).index_add(1, rows_of, cell)
            loss = -torch.logsumexp(log_w + ll, dim=0).sum() / n_hidden
            (grad,) = torch.autograd.grad(loss, log_factor)
        return float(loss.detach()), grad

    fitted = _minimize(loss_and_grad, torch.zeros_like(model.draw_scale_log_factor.detach()))
    with torch.no_grad():
        model.draw_scale_log_factor.copy_(fitted)
    model.eval()


def _minimize(loss_and_grad, x: torch.Tensor, max_iter: int = 50, memory: int = 8, tol: float = 1e-6) -> torch.Tensor:
    """Minimize a smooth function of a short vector ``x`` by L-BFGS with a weak Wolfe line
    search. torch.optim.LBFGS does the same, but building any torch.optim
    optimizer imports torch._dynamo, 2-3 s that the first fit of every process (every
    ``vaetools impute``) paid (the training loop's ``FusedAdam`` avoids it for that reason)."""
    f, g = loss_and_grad(x)
    if not math.isfinite(f):
        return x
    steps: list[tuple[torch.Tensor, torch.Tensor]] = []  # (s, y): changes of x and of the gradient
    for _ in range(max_iter):
        q, alphas = g.clone(), []
        for s, y in reversed(steps):  # two-loop recursion: q becomes H g
            alphas.append(float(s @ q) / float(y @ s))
            q -= alphas[-1] * y
        if steps:
            s, y = steps[-1]
            q *= float(s @ y) / float(y @ y)
        for (s, y), a in zip(steps, reversed(alphas)):
            q += (a - float(y @ q) / float(y @ s)) * s
        d = -q if float(g @ q) > 0 else -g  # a descent direction
        # a step with enough decrease (Armijo) and the slope flattened enough (Wolfe), by
        # bisection: without the second condition steps of negative curvature were taken and
        # the update skipped, and L-BFGS crept along like gradient descent
        slope, t, lo, hi = float(g @ d), 1.0, 0.0, math.inf
        for _ in range(40):
            x_new = x + t * d
            f_new, g_new = loss_and_grad(x_new)
            if not math.isfinite(f_new) or f_new > f + 1e-4 * t * slope:
                hi = t
            elif float(g_new @ d) < 0.9 * slope:
                lo = t
            else:
                break
            t = (lo + hi) / 2 if math.isfinite(hi) else 2 * lo
        else:
            if lo == 0.0:  # no step along d lowers the loss: x is as good as it gets
                return x
            x_new = x + lo * d
            f_new, g_new = loss_and_grad(x_new)
        s, y = x_new - x, g_new - g
        if float(y @ s) > 1e-12:
            steps = (steps + [(s, y)])[-memory:]
        done = abs(f - f_new) <= tol * max(1.0, abs(f)) or float(g_new.abs().max()) < 1e-7
        x, f, g = x_new, f_new, g_new
        if done:
            break
    return x
