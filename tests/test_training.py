"""The training loop's stopping and weight-keeping rules, on noise where nothing generalizes."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch

from vaetools.model import MaskedVAE
from vaetools.tabular import TableEncoder, infer_schema
from vaetools.training import TrainConfig, _split_cells, to_batch, train


def noise_table(n=200, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    enc = TableEncoder(infer_schema(df, {}, 100)).fit(df)
    return enc, to_batch(enc, enc.encode(df), "cpu")


def fresh_model(enc):
    torch.manual_seed(0)
    return MaskedVAE(len(enc.num_cols), 0, [], latent_dim=2, hidden=(32,))


def test_held_out_cells_stop_training_and_the_best_weights_are_kept():
    enc, data = noise_table()
    model = fresh_model(enc)
    config = TrainConfig(k=2, batch_size=50, max_epochs=400, patience=3, min_patience_steps=1,
                         validation_fraction=0.2, learning_rate=1e-2)
    history = train(model, data, config, seed=7)
    assert len(history) < config.max_epochs  # independent columns: the held-out score stalls early
    # the weights kept are those of the best held-out score, not the last epoch's
    train_view, held = _split_cells(data, config.validation_fraction, torch.Generator().manual_seed(7))
    held_cells = float(held.m_num.sum())
    kept = float(model.heldout_error(train_view, held)) / held_cells
    best = min(h["val_score"] for h in history)
    assert kept == pytest.approx(best, rel=1e-6)
    assert history[-1]["val_score"] > best


def test_without_held_out_cells_the_whole_schedule_runs_and_loss_falls():
    enc, data = noise_table()
    model = fresh_model(enc)
    config = TrainConfig(k=2, batch_size=50, max_epochs=40, patience=1, validation_fraction=0.0)
    history = train(model, data, config, seed=7)
    assert len(history) == 40  # patience only applies to a held-out score
    assert history[-1]["loss"] < history[0]["loss"]


def test_fused_adam_takes_the_same_steps_as_torch_optim():
    from vaetools.training import FusedAdam

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.SiLU(), torch.nn.Linear(7, 2))
    twin = copy.deepcopy(net)
    unused = torch.nn.Parameter(torch.ones(3))  # no gradient: left alone by both
    ours, theirs = FusedAdam([*net.parameters(), unused], lr=3e-2), torch.optim.Adam(twin.parameters(), lr=3e-2, fused=True)
    x = torch.randn(32, 5)
    for step in range(25):
        ours.param_groups[0]["lr"] = theirs.param_groups[0]["lr"] = 3e-2 / (1 + step)
        for model, opt in ((net, ours), (twin, theirs)):
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            opt.step()
    for a, b in zip(net.parameters(), twin.parameters()):
        assert torch.equal(a, b)
    assert torch.equal(unused, torch.ones(3))


def test_fitting_loading_and_decompressing_do_not_import_torch_dynamo(tmp_path):
    # 1.6 s of every command line's run: torch.optim's optimizers import it on creation, and so
    # do the meta device's kernels (a model sized on it, rather than by model_size, did)
    import subprocess
    import sys

    code = ("import sys, numpy as np, pandas as pd; from vaetools import VAEImputer, compress; "
            "df = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 3))); df.iloc[::4, 0] = np.nan; "
            f"VAEImputer(max_epochs=1).fit(df).save({str(tmp_path / 'm.vtm')!r}); "
            f"compress(df, {str(tmp_path / 't.vtz')!r}, max_epochs=1); print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    code = ("import sys; from vaetools import VAEImputer, decompress, info; "
            f"VAEImputer.load({str(tmp_path / 'm.vtm')!r}); decompress({str(tmp_path / 't.vtz')!r}); "
            f"info({str(tmp_path / 't.vtz')!r}); print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _with_grad(f):
    def loss_and_grad(x):
        x = x.detach().requires_grad_(True)
        loss = f(x)
        (g,) = torch.autograd.grad(loss, x)
        return float(loss.detach()), g
    return loss_and_grad


def test_minimize_finds_the_minimum_of_coupled_and_curved_functions():
    # the draw scale's fit uses it in place of torch.optim.LBFGS (see the test above)
    from vaetools.training import _minimize

    a = torch.tensor([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]], dtype=torch.float64)
    target = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    quadratic = _with_grad(lambda x: 0.5 * (x - target) @ a @ (x - target))
    torch.testing.assert_close(_minimize(quadratic, torch.zeros(3, dtype=torch.float64), tol=1e-12), target,
                               atol=1e-6, rtol=0)
    rosenbrock = _with_grad(lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2)
    x = _minimize(rosenbrock, torch.tensor([-1.2, 1.0], dtype=torch.float64), max_iter=200, tol=1e-14)
    torch.testing.assert_close(x, torch.ones(2, dtype=torch.float64), atol=1e-4, rtol=0)
    # a loss that is not finite where it starts leaves x as it is
    start = torch.zeros(2)
    assert torch.equal(_minimize(_with_grad(lambda x: (x.sum() - 1) / 0.0 * 0.0), start), start)


def test_draw_scale_is_the_optimum_of_its_sample_and_repeats_with_its_seed():
    from vaetools.training import fit_draw_scale

    enc, data = noise_table()
    model = fresh_model(enc)
    train(model, data, TrainConfig(k=2, batch_size=50, max_epochs=3, patience=3), seed=0)
    fit_draw_scale(model, data, k=8, seed=1)
    first = model.draw_scale_log_factor.detach().clone()
    assert first.abs().min() > 0  # every column's factor moved from 1
    fit_draw_scale(model, data, k=8, seed=1)
    assert torch.equal(first, model.draw_scale_log_factor.detach())


def test_draw_scale_on_a_wide_table_decodes_within_its_budget():
    # 500 rows of 2,000 numeric columns spent 71 s of a 75 s fit here: 8,192 rows x 32 particles
    # x 4,000 decoder outputs, in chunks of 2,048 rows. The draw stops at ``cells`` hidden cells
    # and holds each chunk within 2**24 outputs
    from vaetools.training import fit_draw_scale

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(300, 400)))
    df = df.mask(rng.random(df.shape) < 0.2)
    enc = TableEncoder(infer_schema(df, {}, 100)).fit(df)
    data = to_batch(enc, enc.encode(df), "cpu")
    model = fresh_model(enc)
    decoded = []
    decode = model.decode
    model.decode = lambda z, *a, **kw: decoded.append(z.shape[:-1].numel()) or decode(z, *a, **kw)
    fit_draw_scale(model, data, k=32, seed=0, cells=20_000)
    outputs = 2 * 400
    assert max(decoded) * outputs <= 2**24
    hidden_per_row = 0.1 * 0.8 * 400  # hide 10% of the ~80% observed
    assert sum(decoded) / 32 <= 20_000 / hidden_per_row + max(decoded) / 32  # one chunk past the cap at most
    assert model.draw_scale_log_factor.abs().min() > 0  # and every column's factor was fitted
