"""VAEImputer as a scikit-learn estimator and as a DataFrame tool."""

import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from vaetools import VAEImputer
from vaetools.evaluation import hide_cells, score_multiple_imputations

from .conftest import FAST, mixed_frame, punch


@parametrize_with_checks([VAEImputer(max_epochs=3, hidden_sizes=(16,), n_imputation_draws=5, random_state=0)])
def test_sklearn_compatible(estimator, check):
    # every applicable check runs; sklearn skips check_array_api_input without SCIPY_ARRAY_API
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


def test_dataframe_round_trip_keeps_index_columns_dtypes_and_observed_cells(holey):
    holey = holey.assign(x32=holey["x"].astype(np.float32), y2=holey["y"].where(holey["x"].notna()))
    before = holey.copy()
    out = VAEImputer(**FAST).fit_transform(holey)
    pd.testing.assert_frame_equal(holey, before)  # the input is never written to
    assert out.index.equals(holey.index) and list(out.columns) == list(holey.columns)
    assert out.dtypes.equals(holey.dtypes)
    assert not out.isna().any().any()
    observed = holey.notna()
    for c in holey.columns:
        pd.testing.assert_series_equal(out.loc[observed[c], c], holey.loc[observed[c], c])
    assert set(out["group"].unique()) <= {"low", "mid", "high"}
    assert set(out["label"].unique()) <= {"pos", "neg"}
    assert (out["count"] == out["count"].round()).all()


def test_integer_column_declared_continuous_is_rounded_not_truncated(holey):
    imp = VAEImputer(**FAST, column_types={"count": "continuous"}).fit(holey)
    as_int = imp.transform(holey)["count"]
    as_float = imp.transform(holey.astype({"count": "float64"}))["count"]
    hidden = holey["count"].isna()
    assert as_int.dtype == holey["count"].dtype
    assert (as_float[hidden] != as_float[hidden].round()).any()  # the model gave fractions
    np.testing.assert_array_equal(as_int[hidden].to_numpy(dtype=float), np.rint(as_float[hidden].to_numpy()))


def test_beats_mean_imputation_on_correlated_data(frame, holey):
    out = VAEImputer(**{**FAST, "max_epochs": 150, "patience": 20}).fit_transform(holey)
    for c in ("x", "y"):
        hidden = holey[c].isna()
        rmse = np.sqrt(((out.loc[hidden, c] - frame.loc[hidden, c]) ** 2).mean())
        rmse_mean = np.sqrt(((holey[c].mean() - frame.loc[hidden, c]) ** 2).mean())
        assert rmse < 0.5 * rmse_mean, (c, rmse, rmse_mean)
    hidden = holey["label"].isna()
    assert (out.loc[hidden, "label"] == frame.loc[hidden, "label"]).mean() > 0.8


def test_same_random_state_same_result_and_rows_independent(holey):
    a = VAEImputer(**FAST).fit(holey)
    b = VAEImputer(**FAST).fit(holey)
    pd.testing.assert_frame_equal(a.transform(holey), b.transform(holey))
    # a row's imputation does not depend on the other rows in the batch
    part = a.transform(holey.iloc[::7])
    pd.testing.assert_frame_equal(part, a.transform(holey).iloc[::7])


def test_new_rows_impute_without_refitting(frame, holey):
    imp = VAEImputer(**FAST).fit(holey)
    new = punch(mixed_frame(n=50, seed=5), rate=0.3, seed=9)
    out = imp.transform(new)
    assert out.index.equals(new.index) and not out.isna().any().any()


def test_numpy_in_numpy_out(holey):
    X = holey[["x", "y"]].to_numpy()
    out = VAEImputer(**FAST).fit_transform(X)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == X.shape
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(out[~np.isnan(X)], X[~np.isnan(X)])


@pytest.mark.parametrize("sentinel", [None, pd.NA, -999.0])
def test_missing_values_markers(frame, sentinel):
    X = frame[["x", "y"]].copy()
    X.iloc[::5, 0] = np.nan if sentinel is None or sentinel is pd.NA else sentinel
    X = X.astype(object) if sentinel is None or sentinel is pd.NA else X
    if sentinel is None or sentinel is pd.NA:
        X.iloc[::5, 0] = sentinel
        X = X.astype({"x": "Float64", "y": "float64"})
    out = VAEImputer(**FAST, missing_values=np.nan if sentinel is None else sentinel).fit_transform(X)
    assert not out.isna().any().any()
    assert not (out == -999.0).any().any()


def test_add_indicator_and_feature_names(holey):
    imp = VAEImputer(**FAST, add_indicator=True).fit(holey)
    out = imp.transform(holey)
    names = list(imp.get_feature_names_out())
    assert names[:6] == list(holey.columns)
    assert names[6:] == [f"missingindicator_{c}" for c in holey.columns]
    assert list(out.columns) == names
    assert (out["missingindicator_x"] == holey["x"].isna()).all()


def test_set_output_pandas_with_arrays(holey):
    X = holey[["x", "y"]].to_numpy()
    out = VAEImputer(**FAST).set_output(transform="pandas").fit_transform(X)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["x0", "x1"]


def test_pipeline_column_transformer_grid_search_clone(frame, holey):
    num = holey[["x", "y", "count"]].astype("float64")
    target = frame["y"] * 0 + frame["x"]
    pipe = make_pipeline(VAEImputer(**FAST), LinearRegression())
    pipe.fit(num, target)
    assert pipe.score(num, target) > 0.5
    ct = ColumnTransformer([("imp", VAEImputer(**FAST), ["x", "y"])], remainder="drop")
    assert ct.fit_transform(holey).shape == (len(holey), 2)
    search = GridSearchCV(make_pipeline(VAEImputer(**FAST), LinearRegression()),
                          {"vaeimputer__latent_dim": [2, 4]}, cv=2)
    search.fit(num, target)
    assert search.best_params_["vaeimputer__latent_dim"] in (2, 4)
    c = clone(VAEImputer(latent_dim=3))
    assert c.get_params()["latent_dim"] == 3 and not hasattr(c, "model_")


def test_files_saved_by_format_1_still_load(tmp_path, holey):
    import json

    imp = VAEImputer(**FAST).fit(holey)
    assert not any(s.zero_mass for s in imp.schema_)  # what a format 1 file can describe
    imp.save(tmp_path / "new.vtm")
    with np.load(tmp_path / "new.vtm", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays["__meta__"].tobytes().decode())
    meta["version"] = 1
    for spec in meta["schema"]:
        del spec["zero_mass"]
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(tmp_path / "old.vtm", "wb") as fh:
        np.savez(fh, **arrays)
    loaded = VAEImputer.load(tmp_path / "old.vtm")
    pd.testing.assert_frame_equal(loaded.transform(holey), imp.transform(holey))


def test_files_saved_before_the_linear_paths_still_load(tmp_path, holey):
    import json

    imp = VAEImputer(**FAST).fit(holey)
    assert imp.model_.linear_skip
    # an imputer as vaetools wrote it before the linear paths: its model has none
    old = imp._build_model(imp.model_.hidden, linear_skip=False)
    old.load_state_dict({k: v for k, v in imp.model_.state_dict().items()
                         if "_skip." not in k and k != "draw_scale_log_factor"})
    imp.model_ = old.eval()
    imp.save(tmp_path / "new.vtm")
    with np.load(tmp_path / "new.vtm", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays["__meta__"].tobytes().decode())
    meta["version"] = 2
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(tmp_path / "old.vtm", "wb") as fh:
        np.savez(fh, **arrays)
    loaded = VAEImputer.load(tmp_path / "old.vtm")
    assert not loaded.model_.linear_skip
    pd.testing.assert_frame_equal(loaded.transform(holey), imp.transform(holey))
    # and a file from a newer vaetools is refused with a message, not a crash inside torch
    from vaetools.persist import VERSION

    meta["version"] = VERSION + 1
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(tmp_path / "newer.vtm", "wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(ValueError, match="newer vaetools"):
        VAEImputer.load(tmp_path / "newer.vtm")


def test_training_plan_follows_the_table_size_unless_given():
    # the documented "auto" plan: small tables keep 64-row steps at 3e-3, mid-sized ones take
    # 128 rows at 6e-3, and every table gets about 384,000 row visits within [20, 400] epochs,
    # but no more than ~2M visits: large tables do not take 20 epochs
    imp = VAEImputer()
    sizes = (569, 1599, 48842, 150_000, 1_000_000, 5_000_000)
    plan = [(b := imp._batch_rows(n), imp._peak_learning_rate(b), imp._epochs(n)) for n in sizes]
    assert plan == [(64, 3e-3, 400), (128, 6e-3, 240), (1024, 6e-3, 20), (1024, 6e-3, 14), (1024, 6e-3, 2),
                    (1024, 6e-3, 1)]
    from vaetools import VAECompressor  # ~10M visits within [50, 300] epochs, and no more

    assert [VAECompressor()._epochs(n) for n in (48842, 200_000, 400_000, 1_000_000)] == [204, 50, 25, 10]
    given = VAEImputer(batch_size=32, learning_rate=1e-3, max_epochs=7)
    assert (given._batch_rows(1599), given._peak_learning_rate(32), given._epochs(1599)) == (32, 1e-3, 7)


def test_pickle_round_trip(holey):
    imp = VAEImputer(**FAST).fit(holey)
    again = pickle.loads(pickle.dumps(imp))
    pd.testing.assert_frame_equal(again.transform(holey), imp.transform(holey))


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests a machine without a GPU")
def test_model_set_to_a_gpu_loads_and_unpickles_on_the_cpu_where_there_is_none(tmp_path, holey):
    """A model fitted with device="cuda" (set here after a CPU fit) is used where no GPU is:
    load and unpickle place it on the CPU rather than fail (tests/test_cuda.py, with a GPU)."""
    imp = VAEImputer(**FAST).fit(holey)
    want = imp.transform(holey)
    imp.set_params(device="cuda")
    imp.save(tmp_path / "m.vtm")
    for again in (VAEImputer.load(tmp_path / "m.vtm"), pickle.loads(pickle.dumps(imp))):
        assert again.device == "cuda" and next(again.model_.parameters()).device.type == "cpu"
        pd.testing.assert_frame_equal(again.transform(holey), want)


def test_save_load_round_trip_without_pickle(tmp_path, holey):
    imp = VAEImputer(**FAST, add_indicator=True).fit(holey)
    path = tmp_path / "imp.vtm"
    imp.save(path)
    loaded = VAEImputer.load(path)
    pd.testing.assert_frame_equal(loaded.transform(holey), imp.transform(holey))
    for a, b in zip(loaded.multiple_imputations(holey, m=2, random_state=0),
                    imp.multiple_imputations(holey, m=2, random_state=0)):
        pd.testing.assert_frame_equal(a, b)  # the draw scale was saved too
    with pytest.raises(FileExistsError, match="overwrite"):
        imp.save(path)
    imp.save(path, overwrite=True)
    # a pickle in the file is refused, not executed
    bad = tmp_path / "bad.vtm"
    np.savez(bad, __meta__=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="not a saved vaetools estimator"):
        VAEImputer.load(bad.with_suffix(".vtm.npz"))
    (tmp_path / "junk").write_bytes(b"hello")
    with pytest.raises(ValueError, match="not a saved vaetools estimator"):
        VAEImputer.load(tmp_path / "junk")


def arrow_frame(holey):
    """``holey`` as ``pd.read_parquet(..., dtype_backend="pyarrow")`` gives a Parquet file's
    NUMERIC, categorical, float16 and int32 columns."""
    pa = pytest.importorskip("pyarrow")
    table = pa.Table.from_pandas(holey.assign(count=holey["count"].astype("float64")), preserve_index=True)
    table = table.set_column(0, "x", table["x"].cast(pa.decimal128(12, 3)))
    table = table.set_column(1, "y", table["y"].cast(pa.float16()))
    table = table.set_column(2, "count", table["count"].cast(pa.int32()))
    table = table.set_column(4, "group", table["group"].cast(pa.dictionary(pa.int32(), pa.string())))
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def test_arrow_decimal_dictionary_and_half_float_columns_impute_save_and_load(tmp_path, holey):
    # an Arrow decimal was pd.to_numeric's "Length of values (171) does not match length of
    # index (200)", and saving its dtype's name then reading it back NotImplementedError
    df = arrow_frame(holey)
    imp = VAEImputer(**FAST).fit(df)
    out = imp.transform(df)
    assert out.dtypes.equals(df.dtypes) and out.index.equals(df.index)
    assert out.notna().all().all()
    for c in df.columns:  # observed cells unchanged (halffloat's == is broken in pandas: compare as objects)
        seen = df[c].notna().to_numpy()
        assert out[c].astype(object)[seen].tolist() == df[c].astype(object)[seen].tolist(), c
    hidden = df["x"].isna().to_numpy()
    assert out["x"][hidden].map(lambda v: v.as_tuple().exponent).eq(-3).all()  # on the decimal's grid
    imp.save(tmp_path / "arrow.vtm")
    pd.testing.assert_frame_equal(VAEImputer.load(tmp_path / "arrow.vtm").transform(df), out)
    # beside a date column the numeric columns are read one by one, where the decimal failed too
    dated = df.assign(day=pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(len(df)) % 300, unit="D"))
    filled = VAEImputer(**FAST).fit_transform(dated)
    assert filled.dtypes.equals(dated.dtypes) and filled["x"].notna().all()


def test_saved_model_whose_arrays_state_more_than_they_hold_is_refused_before_allocating(tmp_path, holey):
    # a .vtm is a zip of .npy arrays: np.load allocates whatever shape an array's header states
    # (8 TiB from a few forged bytes) and inflates compressed members
    import io
    import zipfile

    path = tmp_path / "imp.vtm"
    VAEImputer(**FAST).fit(holey).save(path)
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    name = next(n for n in members if n.startswith("w/"))
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "<f8", "fortran_order": False, "shape": (2**40,)})
    for forged, compression, message in [
        (head.getvalue() + b"\0" * 64, zipfile.ZIP_STORED, f"its array '{name[:-4]}' states more data than it holds"),
        (members[name], zipfile.ZIP_DEFLATED, f"its array '{name[:-4]}' is compressed"),
    ]:
        bad = tmp_path / "bad.vtm"
        with zipfile.ZipFile(bad, "w") as zf:
            for n, data in members.items():
                zf.writestr(n, forged if n == name else data, compress_type=compression if n == name else zipfile.ZIP_STORED)
        with pytest.raises(ValueError, match="not a saved vaetools estimator .*" + re.escape(message)):
            VAEImputer.load(bad)
    (tmp_path / "zip.vtm").write_bytes(b"PK\x03\x04 and then no zip")
    with pytest.raises(ValueError, match="not a saved vaetools estimator"):
        VAEImputer.load(tmp_path / "zip.vtm")
    blob = bytearray(path.read_bytes())  # a zip that asks for a version zipfile does not know
    blob[blob.index(b"PK\x01\x02") + 6] = 109  # the central directory's "version needed"
    (tmp_path / "version.vtm").write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="not a saved vaetools estimator .*zip file version 10.9"):
        VAEImputer.load(tmp_path / "version.vtm")


def test_multiple_imputations_draw_plausible_distinct_tables(frame, holey):
    imp = VAEImputer(**{**FAST, "max_epochs": 80}).fit(holey)
    tables = imp.multiple_imputations(holey, m=4, random_state=0)
    assert len(tables) == 4
    hidden = holey["x"].isna()
    draws = np.stack([t.loc[hidden, "x"].to_numpy() for t in tables])
    assert np.all(draws.std(0) > 0)  # the draws differ
    for t in tables:
        assert t.dtypes.equals(holey.dtypes) and not t.isna().any().any()
        pd.testing.assert_series_equal(t.loc[~hidden, "x"], holey.loc[~hidden, "x"])
    # centred on the truth: the spread of the draws covers the errors
    err = np.abs(draws.mean(0) - frame.loc[hidden, "x"].to_numpy()).mean()
    assert err < 0.5 * frame["x"].std()
    again = imp.multiple_imputations(holey, m=4, random_state=0)
    pd.testing.assert_frame_equal(again[2], tables[2])


def test_verbose_progress_and_history(capsys, holey):
    imp = VAEImputer(**FAST, verbose=1).fit(holey)
    err = capsys.readouterr().err
    assert "epoch 30/30" in err and "loss" in err and "val err/cell" not in err
    VAEImputer(**FAST, verbose=1, validation_fraction=0.2).fit(holey)
    assert "val err/cell" in capsys.readouterr().err
    assert len(imp.history_) >= 1 and {"epoch", "loss", "val_score"} <= set(imp.history_[0])


@pytest.mark.parametrize("seed", [0, 1])
def test_linearly_related_columns_impute_near_the_exact_conditional_mean(seed):
    # columns that are noisy linear functions of two factors: the best possible imputation is
    # the Gaussian conditional mean given the row's observed cells. A short fit gets within 25%
    # of its RMSE (the linear paths beside the networks; without them 30 epochs gave 53% over)
    rng = np.random.default_rng(seed)
    n, p = 600, 8
    loadings = rng.normal(size=(p, 2))
    x = rng.normal(size=(n, 2)) @ loadings.T + 0.3 * rng.normal(size=(n, p))
    cov = loadings @ loadings.T + 0.09 * np.eye(p)
    miss = rng.random((n, p)) < 0.3
    best = x.copy()
    for i in np.flatnonzero(miss.any(axis=1)):
        m, o = miss[i], ~miss[i]
        best[i, m] = cov[np.ix_(m, o)] @ np.linalg.solve(cov[np.ix_(o, o)], x[i, o]) if o.any() else 0.0
    holey = pd.DataFrame(np.where(miss, np.nan, x), columns=[f"c{j}" for j in range(p)])
    out = VAEImputer(**FAST).fit_transform(holey).to_numpy()
    rmse = lambda a: np.sqrt(np.mean((a[miss] - x[miss]) ** 2))  # noqa: E731
    assert rmse(out) < 1.25 * rmse(best)


def _three_noisy_copies_fitted():
    """Three noisy copies of one factor with 30% of cells hidden, and an imputer fitted to them:
    a hidden cell is known from the others to within its conditional spread."""
    rng = np.random.default_rng(0)
    t = rng.normal(size=1500)
    df = pd.DataFrame({c: t + 0.5 * rng.normal(size=1500) for c in "abc"})
    holey = hide_cells(df, 0.3, "mcar", random_state=0)
    imp = VAEImputer(max_epochs=30, hidden_sizes=(32, 32), n_imputation_draws=20, random_state=0).fit(holey)
    return df, holey, imp


def test_multiple_imputations_are_as_uncertain_as_the_hidden_values():
    # 19 calibrated draws hold the truth within their range 90% of the time
    df, holey, imp = _three_noisy_copies_fitted()
    score = score_multiple_imputations(df, holey, imp.multiple_imputations(holey, m=19, random_state=0))
    assert 0.85 <= score["coverage"] <= 0.96
    assert score["width"] < 3.0  # narrower than the marginal's range (about 3.7): informative draws


def test_draw_scale_widens_the_draws_of_an_overconfident_model():
    # a decoder that believes its cells are known to +-0.05 (as an overfitted one does on the
    # cells its encoder saw) draws far too narrowly; the draw scale, fitted to cells hidden from
    # the encoder, brings the range of 19 draws back to holding the truth ~90% of the time,
    # and leaves the point imputation as it was
    from vaetools.training import fit_draw_scale, to_batch

    df, holey, imp = _three_noisy_copies_fitted()
    for k in range(3):
        imp.model_.fix_numeric_scale(k, 0.05)
    point = imp.transform(holey)
    imp.model_.draw_scale_log_factor = None  # draws with the decoder's scale
    coverage = lambda: score_multiple_imputations(  # noqa: E731
        df, holey, imp.multiple_imputations(holey, m=19, random_state=0))["coverage"]
    assert coverage() < 0.6
    data = to_batch(imp.encoder_, imp.encoder_.encode(holey), "cpu")
    fit_draw_scale(imp.model_, data, k=20, seed=0)
    assert 0.85 <= coverage() <= 0.96
    pd.testing.assert_frame_equal(imp.transform(holey), point)


def test_the_draw_scale_does_not_depend_on_the_number_of_imputation_draws(holey):
    # fitted with the same particles whatever n_imputation_draws is, so that changing it after
    # fit (set_params) leaves nothing fitted for another count
    few = VAEImputer(**{**FAST, "n_imputation_draws": 4}).fit(holey)
    many = VAEImputer(**{**FAST, "n_imputation_draws": 100}).fit(holey)
    factors = few.model_.draw_scale_log_factor.detach()
    assert factors.abs().max() > 0  # fitted, not left at its start
    torch.testing.assert_close(factors, many.model_.draw_scale_log_factor.detach(), rtol=0, atol=0)
    few.set_params(n_imputation_draws=100)
    for a, b in zip(few.multiple_imputations(holey, m=2, random_state=0),
                    many.multiple_imputations(holey, m=2, random_state=0)):
        pd.testing.assert_frame_equal(a, b)


def test_inference_precision_auto_follows_the_cpu_and_either_choice_imputes_alike(holey, monkeypatch):
    """"auto" decodes in bfloat16 exactly where the CPU multiplies bfloat16 in hardware, and
    the two precisions fill the same cells with values that differ far less than the cells'
    own spread; observed cells are untouched either way."""
    import vaetools.impute as impute_module

    imp = VAEImputer(**FAST).fit(holey)
    by = {p: imp.set_params(inference_precision=p).transform(holey) for p in ("float32", "bfloat16")}
    for fast, expected in ((True, "bfloat16"), (False, "float32")):
        monkeypatch.setattr(impute_module, "fast_bfloat16", lambda fast=fast: fast)
        pd.testing.assert_frame_equal(imp.set_params(inference_precision="auto").transform(holey), by[expected])
    hidden = holey["x"].isna()
    low, full = by["bfloat16"]["x"][hidden], by["float32"]["x"][hidden]
    assert not low.equals(full)  # bfloat16 did run
    assert (low - full).abs().max() < 0.1 * full.std()
    observed = holey["x"].notna()
    pd.testing.assert_series_equal(by["bfloat16"]["x"][observed], holey["x"][observed])
    assert (by["bfloat16"]["group"] == by["float32"]["group"]).mean() > 0.95


def test_inference_precision_is_validated_by_name(holey):
    with pytest.raises(ValueError, match="inference_precision"):
        VAEImputer(**FAST, inference_precision="float16").fit(holey)
