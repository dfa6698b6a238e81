"""Polars DataFrames in, polars DataFrames out, with the input's dtypes."""

import datetime
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer

from vaetools import VAECompressor, VAEImputer, decompress
from vaetools.compress.compressor import compress
from vaetools.tabular.schema import UnmodelledColumnError

from tests.impute.conftest import FAST, mixed_frame, punch

pl = pytest.importorskip("polars")


def _values(s: pd.Series) -> list:
    """A pandas column's values as Python objects, None where missing: what pl.Series takes."""
    return s.astype(object).where(s.notna(), None).to_list()


def polars_table(n=300, seed=0):
    """The imputer tests' mixed table in polars' own dtypes, 20% of cells null."""
    holey = punch(mixed_frame(n, seed))
    return pl.DataFrame({
        "x": pl.Series(holey["x"].to_numpy(), nan_to_null=True),
        "y": pl.Series(holey["y"].astype("float32").to_numpy(), nan_to_null=True),
        "count": pl.Series(_values(holey["count"]), dtype=pl.Int32),
        "flag": pl.Series(_values(holey["flag"]), dtype=pl.Boolean),
        "group": pl.Series(_values(holey["group"]), dtype=pl.Enum(["low", "mid", "high"])),
        "kind": pl.Series(_values(holey["label"]), dtype=pl.Categorical),
        "label": _values(holey["label"]),
    })


def test_polars_in_polars_out_with_its_dtypes_and_observed_cells():
    df = polars_table()
    assert df.null_count().sum_horizontal().item() > 0
    out = VAEImputer(**FAST).fit_transform(df)
    assert isinstance(out, pl.DataFrame)
    assert out.schema == df.schema  # Int32 stays Int32, the Enum keeps its categories
    assert out.null_count().sum_horizontal().item() == 0
    for name in df.columns:
        seen = df[name].is_not_null()
        assert (out[name].filter(seen) == df[name].filter(seen)).all(), name
    assert set(out["group"].unique().to_list()) <= {"low", "mid", "high"}


def test_polars_through_the_pandas_path_gives_the_same_imputations():
    """The conversion loses nothing the model sees: same fit, same values as pandas input."""
    holey = punch(mixed_frame())
    df = pl.DataFrame({c: pl.Series(_values(holey[c]))
                       for c in ["x", "y", "label"]})
    from_polars = VAEImputer(**FAST).fit_transform(df)
    from_pandas = VAEImputer(**FAST).fit_transform(holey[["x", "y", "label"]].reset_index(drop=True))
    np.testing.assert_array_equal(from_polars["x"].to_numpy(), from_pandas["x"].to_numpy())
    assert from_polars["label"].to_list() == from_pandas["label"].tolist()


def test_set_output_picks_the_container_whatever_the_input():
    df = polars_table()
    imp = VAEImputer(**FAST).fit(df)
    as_pandas = imp.set_output(transform="pandas").transform(df)
    assert isinstance(as_pandas, pd.DataFrame)
    assert str(as_pandas["count"].dtype) == "Int32" and isinstance(as_pandas["group"].dtype, pd.CategoricalDtype)
    holey = punch(mixed_frame())
    as_polars = VAEImputer(**FAST).set_output(transform="polars").fit_transform(holey)
    assert isinstance(as_polars, pl.DataFrame) and as_polars.columns == list(holey.columns)
    assert as_polars.schema["count"] == pl.Int64 and as_polars.schema["group"] == pl.Categorical


def test_column_transformer_with_polars_output():
    df = polars_table()
    ct = ColumnTransformer([("imp", VAEImputer(**FAST), ["x", "count", "group"])], remainder="drop",
                           verbose_feature_names_out=False).set_output(transform="polars")
    out = ct.fit_transform(df)
    assert isinstance(out, pl.DataFrame) and out.columns == ["x", "count", "group"]
    assert out.schema["count"] == pl.Int32 and out.null_count().sum_horizontal().item() == 0


def test_multiple_imputations_of_a_polars_table_are_polars():
    df = polars_table()
    draws = VAEImputer(**FAST).fit(df).multiple_imputations(df, m=2, random_state=0)
    assert all(isinstance(d, pl.DataFrame) and d.schema == df.schema for d in draws)


def test_polars_dates_times_durations_and_times_of_day_come_back_in_their_dtypes():
    import datetime as dt

    rng = np.random.default_rng(0)
    days = rng.integers(0, 1000, 300)
    start = dt.datetime(2020, 1, 1)
    hidden = rng.random((300, 4)) < 0.3
    df = pl.DataFrame({
        "x": days / 100 + rng.normal(0, 0.2, 300),
        "day": [start.date() + dt.timedelta(days=int(d)) for d in days],
        "stamp": pl.Series([start + dt.timedelta(days=int(d), seconds=int(s)) for d, s in
                            zip(days, rng.integers(0, 86_400, 300))]).dt.replace_time_zone("America/New_York",
                                                                                          non_existent="null"),
        "wait": [dt.timedelta(minutes=int(d) // 10 + 1) for d in days],
        "clock": [dt.time(int(d) % 24, int(d) % 60) for d in days],  # a time of day: pl.Time
    }).with_columns([pl.when(pl.Series(hidden[:, k])).then(None).otherwise(pl.col(c)).alias(c)
                     for k, c in enumerate(["day", "stamp", "wait", "clock"])])
    out = VAEImputer(**FAST).fit_transform(df)
    assert out.schema == df.schema and out.null_count().sum_horizontal().item() == 0
    for c in df.columns:  # observed cells as they were, the zone's wall clock included
        observed = df[c].is_not_null()
        assert out[c].filter(observed).equals(df[c].filter(observed))
    comp = VAECompressor(max_epochs=5, error_bound=0.01, random_state=0).fit(df)  # and through a .vtz file
    assert comp.inverse_transform(comp.transform(df)).schema == df.schema


def test_polars_lists_and_lazy_frames_are_refused_with_the_fix():
    df = polars_table()
    with pytest.raises(TypeError, match=r"LazyFrame.*X\.collect\(\)"):
        VAEImputer(**FAST).fit(df.lazy())
    nested = polars_table().with_columns(pl.Series("pair", [[i, i + 1] for i in range(300)]))
    with pytest.raises(ValueError, match="'pair' holds values of type ndarray"):
        VAEImputer(**FAST).fit(nested)


def test_errors_give_polars_users_their_fix_in_polars_code():
    df = polars_table().with_columns(pl.Series("id", [f"r{i}" for i in range(300)]))
    with pytest.raises(UnmodelledColumnError, match=re.escape("drop it (df.drop('id'))")):
        VAEImputer(**FAST).fit(df)
    with pytest.raises(UnmodelledColumnError, match=re.escape("drop it (df.drop(columns=['id']))")):
        VAEImputer(**FAST).fit(df.to_pandas())  # and pandas users theirs
    text_dates = polars_table().with_columns(
        pl.Series("day", [str(datetime.date(2020, 1, 1) + datetime.timedelta(days=i)) for i in range(300)]))
    with pytest.raises(UnmodelledColumnError, match=re.escape("parse them with pl.col('day').str.to_datetime()")):
        VAECompressor(max_epochs=1).fit(text_dates)
    stamps = pd.Timestamp("2021-01-01", tz="Europe/Paris") + pd.to_timedelta(np.arange(300) * 31, unit="h")
    offsets = polars_table().with_columns(pl.Series("at", [t.isoformat() for t in stamps]))  # +01:00 and +02:00
    with pytest.raises(UnmodelledColumnError, match=re.escape("pl.col('at').str.to_datetime(time_zone='UTC')")):
        VAEImputer(**FAST).fit(offsets)
    with pytest.raises(UnmodelledColumnError, match=re.escape("pd.to_datetime(df['at'], utc=True)")):
        VAEImputer(**FAST).fit(offsets.to_pandas())


@pytest.mark.parametrize("syntax", ["pandas", "polars"])
def test_every_fix_an_error_suggests_runs_and_does_what_it_says(syntax):
    # the fixes are code a user pastes: each must run in its library and give what it promises
    from vaetools.tabular.schema import _FIXES

    frame = pl.DataFrame({
        "day": [datetime.date(2020, 1, 1), datetime.date(2020, 1, 3)],
        "pair": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],
        "num": ["1.5", "x"], "clean": ["1.5", "2"], "when": ["2020-01-02", "2021-03-04"], "id": ["a", "b"],
        "stamp": ["2021-01-21T12:00:00+01:00", "2021-08-21T12:00:00+02:00"],  # offsets that change
        "clock": ["08:30:00", "17:05:30"], "money": ["$1,234.50", "-$5.00"], "geld": ["1.234,50 €", "-5,00 €"],
    })
    if syntax == "pandas":
        frame = frame.to_pandas()
        frame["pair"] = frame["pair"].map(list)
    column = {"text": "day", "expand": "pair", "coerce": "num", "numbers": "clean", "dates": "when",
              "dates_utc": "stamp", "times": "clock", "signs": "money", "signs_comma": "geld",
              "drop": "id"}
    assert set(column) == set(_FIXES[syntax]) == set(_FIXES["pandas"])
    got = {}
    for what, template in _FIXES[syntax].items():
        code = template.format(c=repr(column[what]))
        value = eval(code, {"df": frame, "pd": pd, "pl": pl})
        if syntax == "polars" and isinstance(value, pl.Expr):
            value = frame.select(value).to_series()
        got[what] = value.to_list() if syntax == "polars" and isinstance(value, pl.Series) else value
    as_list = (lambda v: list(v)) if syntax == "pandas" else (lambda v: v)
    assert as_list(got["text"]) == ["2020-01-01", "2020-01-03"]
    assert got["expand"].shape == (2, 3)  # a row per row, a column per entry
    assert as_list(got["coerce"])[0] == 1.5 and pd.isna(as_list(got["coerce"])[1])
    assert as_list(got["numbers"]) == [1.5, 2.0]
    assert [str(d)[:10] for d in as_list(got["dates"])] == ["2020-01-02", "2021-03-04"]
    assert [str(d)[:19] for d in as_list(got["dates_utc"])] == ["2021-01-21 11:00:00", "2021-08-21 10:00:00"]
    assert as_list(got["signs"]) == as_list(got["signs_comma"]) == [1234.5, -5.0]
    assert as_list(got["times"]) == [datetime.time(8, 30), datetime.time(17, 5, 30)]
    assert "id" not in got["drop"].columns and got["drop"].shape[1] == frame.shape[1] - 1


def test_compress_a_polars_table_with_passthrough(tmp_path):
    df = polars_table().drop("kind").with_columns(pl.Series("id", [f"r{i}" for i in range(300)]))
    dest = tmp_path / "t.vtz"
    compress(df, dest, error_bound=0.01, passthrough=["id"], max_epochs=5, random_state=0)
    back = decompress(dest)
    assert list(back.columns) == df.columns
    assert back["id"].tolist() == df["id"].to_list()
    assert _values(back["group"]) == df["group"].to_list()
    assert str(back["count"].dtype) == "Int32"
    x, seen = back["x"].to_numpy(), df["x"].is_not_null().to_numpy()
    assert np.isnan(x[~seen]).all()
    rng = df["x"].max() - df["x"].min()
    assert np.abs(x[seen] - df["x"].to_numpy()[seen]).max() <= 0.01 * rng * (1 + 1e-9)
    codes = VAECompressor(max_epochs=2, random_state=0).fit(df.drop("id")).transform(df.drop("id"))
    assert codes.shape == (300, 8)


def test_compressor_fitted_on_polars_decodes_and_samples_polars(tmp_path):
    df = polars_table().drop("kind")
    comp = VAECompressor(max_epochs=5, random_state=0).fit(df)
    for out in (comp.inverse_transform(comp.transform(df)), comp.sample(7, random_state=0)):
        assert isinstance(out, pl.DataFrame) and out.columns == df.columns
        assert out["count"].dtype == pl.Int32 and out["flag"].dtype == pl.Boolean
        assert set(out["group"].drop_nulls().cast(pl.String)) <= {"low", "mid", "high"}
    comp.save(tmp_path / "c.vtm")
    assert isinstance(VAECompressor.load(tmp_path / "c.vtm").sample(3, random_state=0), pl.DataFrame)
    assert isinstance(VAECompressor(max_epochs=1).fit(mixed_frame()).sample(2),
                      pd.DataFrame)


def test_polars_decimals_impute_and_compress_exactly(tmp_path):
    # a Decimal(10, 2) column went in as floats: imputed values were cast back, and a file at a
    # bound under half a cent decoded floats that were not the cents
    import decimal

    x = np.random.default_rng(0).normal(size=300)
    price = [None if i % 5 == 0 else decimal.Decimal(f"{100 + 20 * v:.2f}") for i, v in enumerate(x)]
    df = pl.DataFrame({"x": x, "price": pl.Series(price, dtype=pl.Decimal(10, 2))})
    out = VAEImputer(**FAST).fit_transform(df)
    assert out.schema == df.schema and out["price"].null_count() == 0
    seen = df["price"].is_not_null()
    assert (out["price"].filter(seen) == df["price"].filter(seen)).all()
    comp = VAECompressor(**{k: v for k, v in FAST.items() if k != "n_imputation_draws"},
                         error_bound={"price": 0.004, "x": 0.01}, error_mode="absolute").fit(df)
    comp.compress(df, tmp_path / "p.vtz")
    assert decompress(tmp_path / "p.vtz")["price"].tolist() == price
