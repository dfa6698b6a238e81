"""The estimators on a GPU: the same frames and guarantees as on the CPU, reproducible, and
portable to machines without one. Skipped where torch sees no CUDA GPU (CI)."""

import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from vaetools import VAECompressor, VAEImputer, decompress
from vaetools.datasets import load
from vaetools.evaluation import hide_cells, score_imputation

pytestmark = pytest.mark.cuda

FAST = dict(max_epochs=40, random_state=0)


@pytest.fixture(scope="module")
def penguins():
    df = load("penguins")
    return df, hide_cells(df, 0.3, "mcar", random_state=0)


def test_imputer_fits_and_imputes_on_the_gpu(penguins):
    df, holey = penguins
    imp = VAEImputer(device="cuda", **FAST).fit(holey)
    assert next(imp.model_.parameters()).is_cuda
    out = imp.transform(holey)
    pd.testing.assert_index_equal(out.index, holey.index)
    assert list(out.dtypes) == list(holey.dtypes)
    assert not out.isna().any().any()
    seen = holey.notna()
    pd.testing.assert_frame_equal(out[seen], holey[seen])  # observed cells untouched
    for c in [c for c in holey.columns if not pd.api.types.is_numeric_dtype(holey[c])]:
        assert set(out[c]) <= set(holey[c].dropna())


def test_gpu_fit_is_reproducible_and_as_accurate_as_the_cpu(penguins):
    df, holey = penguins
    runs = [VAEImputer(device="cuda", **FAST).fit_transform(holey) for _ in range(2)]
    pd.testing.assert_frame_equal(runs[0], runs[1])  # same random_state, same machine
    cpu = VAEImputer(device="cpu", **FAST).fit_transform(holey)
    gpu_score, cpu_score = score_imputation(df, holey, runs[0]), score_imputation(df, holey, cpu)
    # the same draws (seeded on the CPU) through different arithmetic: close, not equal
    assert abs(gpu_score["rmse"] - cpu_score["rmse"]) < 0.05 * cpu_score["rmse"]
    assert abs(gpu_score["accuracy"] - cpu_score["accuracy"]) < 0.05


def test_multiple_imputations_on_the_gpu(penguins):
    _, holey = penguins
    imp = VAEImputer(device="cuda", **FAST).fit(holey)
    tables = imp.multiple_imputations(holey, m=3, random_state=1)
    again = imp.multiple_imputations(holey, m=3, random_state=1)
    for a, b in zip(tables, again):
        pd.testing.assert_frame_equal(a, b)
        assert not a.isna().any().any()
    assert not tables[0].equals(tables[1])


def test_gpu_model_loads_and_unpickles_where_there_is_no_gpu(penguins, tmp_path):
    _, holey = penguins
    imp = VAEImputer(device="cuda", **FAST).fit(holey)
    want = imp.transform(holey)
    imp.save(tmp_path / "m.vtm")
    loaded = VAEImputer.load(tmp_path / "m.vtm")
    assert next(loaded.model_.parameters()).is_cuda  # device="cuda" is honoured where present
    pd.testing.assert_frame_equal(loaded.transform(holey), want, check_exact=False, rtol=1e-5)
    again = pickle.loads(pickle.dumps(imp))
    assert next(again.model_.parameters()).is_cuda and next(imp.model_.parameters()).is_cuda
    pd.testing.assert_frame_equal(again.transform(holey), want)
    # a machine without a GPU: torch refuses CUDA tensors in a pickle, so ours holds none
    (tmp_path / "m.pkl").write_bytes(pickle.dumps(imp))
    holey.to_pickle(tmp_path / "x.pkl")
    want.to_pickle(tmp_path / "want.pkl")
    code = (f"import pickle, pandas as pd, torch; assert not torch.cuda.is_available(); "
            f"imp = pickle.load(open({str(tmp_path / 'm.pkl')!r}, 'rb')); "
            f"out = imp.transform(pd.read_pickle({str(tmp_path / 'x.pkl')!r})); "
            f"pd.testing.assert_frame_equal(out, pd.read_pickle({str(tmp_path / 'want.pkl')!r}), "
            f"check_exact=False, rtol=1e-4); print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "CUDA_VISIBLE_DEVICES": ""})
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-3000:]


@pytest.mark.parametrize("bound", [None, 0.01])
def test_compressor_on_the_gpu_round_trips_within_its_bound(tmp_path, bound):
    df = load("abalone")
    holey = hide_cells(df, 0.1, "mcar", random_state=2)
    comp = VAECompressor(device="cuda", error_bound=bound, max_epochs=40, random_state=0).fit(holey)
    assert next(comp.model_.parameters()).is_cuda
    codes = comp.transform(holey)
    assert codes.shape == (len(holey), comp.latent_dim) and np.isfinite(codes).all()
    back = comp.inverse_transform(codes)
    assert list(back.columns) == list(holey.columns)
    assert len(comp.sample(50, random_state=0)) == 50
    if bound is None:
        return
    comp.compress(holey, tmp_path / "t.vtz")
    out = decompress(tmp_path / "t.vtz")  # decoded on the CPU in float64, as anywhere
    pd.testing.assert_frame_equal(out.isna(), holey.isna())
    for c in holey.columns:
        seen = holey[c].notna()
        if pd.api.types.is_numeric_dtype(holey[c]):
            span = holey[c].max() - holey[c].min()
            assert (np.abs(out[c][seen] - holey[c][seen]) <= bound * span + 1e-12).all(), c
        else:
            assert out[c][seen].equals(holey[c][seen]), c
