"""The training loop's stopping and weight-keeping rules, on noise where nothing generalizes."""

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
