"""Decimal columns (SQL NUMERIC through read_sql, Parquet decimals) are modelled in whole units of
their last place: imputed to their places, compressed exactly under half a unit, saved with them."""

import decimal

import numpy as np
import pandas as pd
import pytest

from vaetools import VAEImputer
from vaetools.compress import VAECompressor, VTZError, container, decompress, info
from vaetools.persist import describe_saved

FAST = dict(max_epochs=30, patience=5, hidden_sizes=(32, 32), random_state=0)
D = decimal.Decimal


@pytest.fixture
def prices():
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    price = [D(f"{100 + 20 * v + 0.3 * rng.normal():.2f}") for v in x]
    df = pd.DataFrame({"x": x, "price": pd.Series(price, dtype=object)})
    df.loc[::5, "price"] = None
    return df


def _numbers(col) -> np.ndarray:
    return np.array([float(v) if v is not None and not pd.isna(v) else np.nan for v in col.astype(object)])


def test_decimal_objects_impute_to_their_places_and_keep_observed_ones(prices, tmp_path):
    imp = VAEImputer(**FAST).fit(prices)
    assert imp.schema_[1].kind == "integer" and imp.schema_[1].decimal == {"places": 2}
    out = imp.transform(prices)
    hidden = prices["price"].isna()
    assert out["price"].dtype == object and out["price"].notna().all()
    assert all(a is b for a, b in zip(out["price"][~hidden], prices["price"][~hidden]))  # untouched
    imputed = out["price"][hidden]
    assert all(isinstance(v, D) and v.as_tuple().exponent == -2 for v in imputed)
    truth = 100 + 20 * prices["x"][hidden].to_numpy()
    assert np.abs(_numbers(imputed) - truth).mean() < 0.5 * np.abs(truth - truth.mean()).mean()  # it learned x
    imp.save(tmp_path / "m.vtm")
    pd.testing.assert_frame_equal(VAEImputer.load(tmp_path / "m.vtm").transform(prices), out)
    facts = describe_saved(tmp_path / "m.vtm")
    assert facts["version"] == 9 and facts["decimals"] == {"price": "decimals with 2 places, in whole units of 0.01"}
    # floats where decimals were at fit: read as numbers, imputed as the column's numbers
    floats = prices.assign(price=pd.to_numeric(prices["price"]))
    assert imp.transform(floats)["price"].notna().all()


def test_an_arrow_decimal_keeps_its_type_and_counts_the_places_its_values_use(prices):
    pa = pytest.importorskip("pyarrow")
    # Spark writes decimal(38, 18): cents at 18 places would pass 2**50 units; the values use 2
    df = prices.assign(price=pd.array(prices["price"].tolist(), dtype=pd.ArrowDtype(pa.decimal128(38, 18))))
    imp = VAEImputer(**FAST).fit(df)
    assert imp.schema_[1].decimal == {"places": 2}
    out = imp.transform(df)
    assert out["price"].dtype == df["price"].dtype and out["price"].notna().all()
    assert all(v == v.quantize(D("0.01")) for v in out["price"].astype(object))


def test_whole_units_are_exact_up_to_the_limit_and_past_it_the_column_is_not_counted():
    from vaetools.tabular import decimals

    rng = np.random.default_rng(0)
    for places in (0, 2, 9, 30):
        units = rng.integers(decimals.MAX_UNITS // 2, decimals.MAX_UNITS, 2000)
        col = pd.Series([D(int(u)).scaleb(-places) for u in units], dtype=object)
        desc = decimals.describe(col)
        assert desc == {"places": places}
        assert np.array_equal(decimals.to_units(col, desc, "price"), units.astype(np.float64))
    # between 2**51 and 2**52 units, 1 in 20 values read as floats rounded to the next unit
    big = pd.Series([D(int(u)).scaleb(-2) for u in rng.integers(2**51, 2**52, 100)], dtype=object)
    assert decimals.describe(big) is None


def test_decimals_near_the_limit_decode_exactly_and_past_it_are_refused(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=300)
    near = pd.DataFrame({"x": x, "total": [D(int(u)).scaleb(-2) for u in rng.integers(2**49, 2**50, 300)]})
    comp = VAECompressor(max_epochs=2, random_state=0, error_bound={"total": 0.004, "x": 0.01},
                         error_mode="absolute").fit(near)
    comp.compress(near, tmp_path / "near.vtz")
    assert decompress(tmp_path / "near.vtz")["total"].tolist() == near["total"].tolist()
    # 2**51 to 2**52 cents decoded a cent off one time in twenty; such a column is refused
    past = near.assign(total=[D(int(u)).scaleb(-2) for u in rng.integers(2**51, 2**52, 300)])
    with pytest.raises(ValueError, match=r"'total' holds Decimal numbers.*past 2\*\*50.*pd\.to_numeric"):
        VAECompressor(max_epochs=2, random_state=0).fit(past)


def test_a_bound_under_half_a_cent_gives_every_decimal_back_and_a_bound_in_dollars_holds(prices, tmp_path):
    comp = VAECompressor(**FAST, error_bound={"price": D("0.004"), "x": 0.01}, error_mode="absolute").fit(prices)
    comp.compress(prices, tmp_path / "exact.vtz")
    back = decompress(tmp_path / "exact.vtz")
    assert back["price"].dtype == object and back["price"].isna().equals(prices["price"].isna())
    assert back["price"].dropna().tolist() == prices["price"].dropna().tolist()
    facts = info(tmp_path / "exact.vtz")
    assert facts["format_version"] == 11 and facts["error_bounds"]["price"] == pytest.approx(0.004)
    assert facts["column_kinds"]["price"] == "integer: decimals with 2 places, in whole units of 0.01"
    comp.compress(prices, tmp_path / "loose.vtz", error_bound={"price": 0.05, "x": 0.01})
    loose = decompress(tmp_path / "loose.vtz")["price"]
    errors = [abs(a - b) for a, b in zip(loose.dropna(), prices["price"].dropna())]
    assert max(errors) <= D("0.05") and all(v.as_tuple().exponent == -2 for v in loose.dropna())
    assert max(errors) > 0  # coded to the bound, not exactly
    assert (tmp_path / "loose.vtz").stat().st_size < (tmp_path / "exact.vtz").stat().st_size


def test_more_places_than_at_fit_are_refused_and_no_file_is_written(prices, tmp_path):
    comp = VAECompressor(**FAST, error_bound=0.01).fit(prices)
    more = prices.copy()
    more.loc[1, "price"] = D("100.125")
    with pytest.raises(ValueError, match=r"column 'price' holds 100\.125 with more than the 2 decimal places it had "
                                         r"at fit.*round it to 2 places, or refit"):
        comp.compress(more, tmp_path / "m.vtz")
    assert not (tmp_path / "m.vtz").exists()
    more.loc[1, "price"] = D("100.1200000000000001")  # past float's grain: checked on the decimal itself
    with pytest.raises(ValueError, match=r"holds 100\.1200000000000001 with more than the 2 decimal places"):
        comp.compress(more, tmp_path / "m.vtz")
    fewer = prices.copy()
    fewer.loc[1, "price"] = D("100.1")  # fewer places: whole cents still
    comp.compress(fewer, tmp_path / "f.vtz", error_bound={"price": 0.004, "x": 0.01}, error_mode="absolute")
    got = decompress(tmp_path / "f.vtz")["price"][1]
    assert got == fewer["price"][1] and str(got) == "100.10"  # in the column's places


def test_files_with_decimals_are_format_11_and_older_readers_refuse_them(prices, tmp_path, monkeypatch):
    VAECompressor(**FAST, error_bound=0.01).fit(prices).compress(prices, tmp_path / "d.vtz")
    plain = prices.assign(price=pd.to_numeric(prices["price"]))
    VAECompressor(**FAST, error_bound=0.01).fit(plain).compress(plain, tmp_path / "p.vtz")
    assert info(tmp_path / "p.vtz")["format_version"] == 7
    monkeypatch.setattr(container, "FORMAT_VERSION", 10)  # a reader of 10 would give cents for dollars
    with pytest.raises(VTZError, match="format version 11, newer than this vaetools reads"):
        decompress(tmp_path / "d.vtz")
