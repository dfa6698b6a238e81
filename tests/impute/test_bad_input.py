"""Each kind of bad input gets a clear error naming the column or argument, or a sane result."""

import decimal
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from vaetools import VAEImputer

from .conftest import FAST


def test_columns_differ_from_fit(holey):
    imp = VAEImputer(**FAST).fit(holey)
    with pytest.raises(ValueError, match=r"missing \['label'\]"):
        imp.transform(holey.drop(columns="label"))
    with pytest.raises(ValueError, match=r"unexpected \['extra'\]"):
        imp.transform(holey.assign(extra=1.0))
    shuffled = holey[list(reversed(holey.columns))]
    pd.testing.assert_frame_equal(imp.transform(shuffled), imp.transform(holey))


def test_unseen_category_is_imputed_with_one_warning(holey):
    imp = VAEImputer(**FAST).fit(holey)
    new = holey.head(20).copy()
    new["label"] = new["label"].astype(object)
    new.iloc[0, new.columns.get_loc("label")] = "never-seen"
    new.iloc[1, new.columns.get_loc("label")] = "also-new"
    with pytest.warns(UserWarning, match="not seen during fit") as rec:
        out = imp.transform(new)
    assert len([w for w in rec if "not seen" in str(w.message)]) == 1
    assert out["label"].iloc[0] in {"pos", "neg"} and out["label"].iloc[1] in {"pos", "neg"}


def test_all_missing_column(holey):
    X = holey.assign(empty=np.nan)
    with pytest.warns(UserWarning, match="without any observed values"):
        out = VAEImputer(**FAST).fit_transform(X)
    assert "empty" not in out.columns
    out = VAEImputer(**FAST, keep_empty_features=True).fit_transform(X)
    assert (out["empty"] == 0).all()


def test_all_missing_row_filled_from_prior(holey):
    X = holey.copy()
    X.iloc[3] = pd.NA
    X = X.astype(holey.dtypes.to_dict())
    out = VAEImputer(**FAST).fit_transform(X)
    assert not out.iloc[3].isna().any()
    # the prior's conditional mean is a typical value
    assert abs(out["x"].iloc[3] - holey["x"].mean()) < 2 * holey["x"].std()


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_inf_names_the_column(holey, bad):
    X = holey.copy()
    X.iloc[2, X.columns.get_loc("y")] = bad
    with pytest.raises(ValueError, match="'y' contains inf"):
        VAEImputer(**FAST).fit(X)
    imp = VAEImputer(**FAST).fit(holey)
    with pytest.raises(ValueError, match="'y' contains inf"):
        imp.transform(X)


def test_text_in_numeric_column(holey):
    X = holey.copy()
    X["y"] = X["y"].astype(object)
    X.iloc[5, X.columns.get_loc("y")] = "n/a?"
    with pytest.raises(ValueError, match="'y' looks numeric but holds text"):
        VAEImputer(**FAST).fit(X)
    imp = VAEImputer(**FAST).fit(holey)
    with pytest.raises(ValueError, match="'y' was numeric at fit"):
        imp.transform(X)


def test_missing_value_marker_in_a_text_column_of_numbers(holey):
    # as pd.read_csv reads a file where "?" marks missing cells: the numeric column becomes text
    X = holey[["x", "y", "label"]].copy()
    X["y"] = [("?" if pd.isna(v) else repr(v)) for v in holey["y"]]
    X["label"] = holey["label"].fillna("?")
    X["code"] = np.where(holey["x"] > 0, "0213", "0214")  # text of digits, no marker: stays text
    with pytest.raises(ValueError, match=r"'y' looks numeric.*missing_values='\?'"):
        VAEImputer(**FAST).fit(X)
    imp = VAEImputer(**FAST, missing_values="?")
    out = imp.fit_transform(X)
    assert {s.name: s.kind for s in imp.schema_} == {
        "x": "continuous", "y": "continuous", "label": "binary", "code": "binary"}
    assert out["y"].dtype == np.float64 and not out.isna().any().any()
    seen = holey["y"].notna()
    np.testing.assert_array_equal(out.loc[seen, "y"], holey.loc[seen, "y"])
    assert set(out["label"]) == {"neg", "pos"} and set(out["code"]) == {"0213", "0214"}
    # new rows go the same way; a column declared categorical is never turned into numbers
    pd.testing.assert_frame_equal(imp.transform(X.head(30)), out.head(30))
    X["code"] = X["code"].where(holey["label"].notna(), "?")
    imp = VAEImputer(**FAST, missing_values="?", column_types={"code": "categorical"})
    assert set(imp.fit_transform(X)["code"]) == {"0213", "0214"}


def test_mostly_numbers_with_a_frequent_marker_is_not_modelled_as_categories():
    # concrete's fly_ash with "?" in 14% of its cells: numbers, not 24 categories
    rng = np.random.default_rng(0)
    t = rng.normal(size=200)
    col = pd.Series(np.round(t, 2)).astype(object)
    col[rng.random(200) < 0.3] = "?"
    X = pd.DataFrame({"t": t, "ash": col})
    with pytest.raises(ValueError, match=r"'ash' looks numeric but holds text values such as \['\?'\]"):
        VAEImputer(**FAST).fit(X)


def test_numbers_written_as_text_are_refused_with_the_fix_not_as_an_id():
    # a table built from JSON or strings: "looks like an ID or free text" sent users the wrong way
    x = np.random.default_rng(0).normal(size=300)
    X = pd.DataFrame({"x": x, "y": np.round(2 * x + 1, 3).astype(str)})
    with pytest.raises(ValueError, match=r"'y' holds numbers written as text \(e\.g\. '.*pd\.to_numeric"):
        VAEImputer(**FAST).fit(X)
    X["y"] = [f"r{i}" for i in range(300)]
    with pytest.raises(ValueError, match="looks like an ID"):
        VAEImputer(**FAST).fit(X)


@pytest.mark.parametrize("bad", [decimal.Decimal("1E+20"), decimal.Decimal("-Infinity")])
def test_decimals_no_whole_unit_counts_exactly_are_refused_with_the_fix(bad):
    # Decimal objects (pd.read_sql's SQL NUMERIC) are modelled in whole units of their last
    # place; past 2**50 units, or infinite, no float64 holds them exactly: refused, not categories
    x = np.random.default_rng(0).normal(size=300)
    X = pd.DataFrame({"x": x, "price": [decimal.Decimal(f"{i % 40}.25") for i in range(300)]})
    X.loc[::9, "price"] = None
    X.loc[1, "price"] = bad
    with pytest.raises(ValueError, match=rf"'price' holds Decimal numbers \(e\.g\. Decimal\('{re.escape(str(bad))}'\)\).*past 2\*\*50.*"
                                         r"convert them with pd\.to_numeric\(df\['price'\]\)"):
        VAEImputer(**FAST).fit(X)
    if bad.is_finite():  # the fix works (an infinite value then gets the error for inf)
        X["price"] = pd.to_numeric(X["price"])
        assert VAEImputer(**FAST).fit(X).schema_[1].kind == "continuous"


def test_python_dates_are_refused_with_the_fix_not_taken_for_categories():
    # pd.read_sql gives SQL DATE columns as datetime.date objects: as 50 categories they lost
    # their order, and imputed only dates already seen
    import datetime

    x = np.random.default_rng(0).normal(size=300)
    X = pd.DataFrame({"x": x, "day": [datetime.date(2020, 1, 1) + datetime.timedelta(days=i % 50) for i in range(300)]})
    with pytest.raises(ValueError, match=r"'day' holds Python dates \(e\.g\. datetime\.date\(2020, 1, 1\).*"
                                         r"convert them with pd\.to_datetime\(df\['day'\]\)"):
        VAEImputer(**FAST).fit(X)
    X["day"] = pd.to_datetime(X["day"])  # the fix works
    assert VAEImputer(**FAST).fit_transform(X)["day"].dtype == X["day"].dtype
    # datetimes whose offsets differ along the column (a database's timestamptz read through a
    # driver that keeps each value's offset) parse only to UTC, and the fix says so
    zones = [datetime.timezone(datetime.timedelta(hours=h)) for h in (1, 2)]
    X["day"] = [datetime.datetime(2020, 1, 1 + i % 28, 9, tzinfo=zones[i % 2]) for i in range(300)]
    with pytest.raises(ValueError, match=r"convert them with pd\.to_datetime\(df\['day'\], utc=True\)"):
        VAEImputer(**FAST).fit(X)
    X["day"] = pd.to_datetime(X["day"], utc=True)
    assert str(VAEImputer(**FAST).fit_transform(X)["day"].dtype).endswith("UTC]")


def test_placeholder_category_warns_with_the_fix(holey):
    X = holey.copy()
    X["label"] = holey["label"].fillna("?")
    with pytest.warns(UserWarning, match=r"'label' holds '\?' in \d+ cells.*missing_values='\?'"):
        VAEImputer(**FAST).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        VAEImputer(**FAST, missing_values="?").fit(X)


@pytest.mark.parametrize("values,message", [
    (np.arange(300) + 1j, r"'when' holds complex numbers"),
    # lists crashed inside pandas' unique ("unhashable type: 'list'"); so did dicts
    (pd.Series([[i, i + 1] for i in range(300)], dtype=object).array, r"'when' holds values of type list.*\.tolist\(\)"),
    (pd.Series([None] * 299 + [{"a": 1}], dtype=object).array, r"'when' holds values of type dict"),
])
def test_dtypes_no_kind_fits_are_refused_with_the_fix(holey, values, message):
    # complex numbers lost their imaginary part; lists crashed inside pandas (dates and
    # durations are modelled: tests/impute/test_times.py)
    X = holey.assign(when=values)
    with pytest.raises(ValueError, match=message):
        VAEImputer(**FAST).fit(X)


def test_zero_rows_and_one_row(holey):
    with pytest.raises(ValueError, match="0 sample"):
        VAEImputer(**FAST).fit(holey.iloc[:0])
    with pytest.raises(ValueError, match="at least 2 rows"):
        VAEImputer(**FAST).fit(holey.iloc[:1])
    imp = VAEImputer(**FAST).fit(holey)
    assert imp.transform(holey.iloc[:1]).shape == (1, holey.shape[1])
    with pytest.raises(ValueError, match="0 sample"):
        imp.transform(holey.iloc[:0])


def test_constant_column_imputes_the_constant(holey):
    X = holey.assign(const=5.5)
    X.loc[X.index[::4], "const"] = np.nan
    out = VAEImputer(**FAST).fit_transform(X)
    assert (out["const"] == 5.5).all()


def test_huge_magnitudes(holey):
    X = holey[["x", "y"]].copy()
    X["x"] = X["x"] * 1e300
    out = VAEImputer(**FAST).fit_transform(X)
    assert np.isfinite(out.to_numpy()).all()
    hidden = X["x"].isna()
    assert out.loc[hidden, "x"].abs().max() <= X["x"].abs().max()


def test_duplicate_column_names(holey):
    X = holey[["x", "y"]].copy()
    X.columns = ["a", "a"]
    with pytest.raises(ValueError, match=r"duplicate column names \['a'\]"):
        VAEImputer(**FAST).fit(X)


def test_non_string_column_names(holey):
    X = holey[["x", "y", "label"]].copy()
    X.columns = [0, 1, 2]
    out = VAEImputer(**FAST).fit_transform(X)
    assert list(out.columns) == [0, 1, 2] and not out.isna().any().any()


def test_high_cardinality_text_column_is_refused_with_the_fix(holey):
    X = holey.assign(customer_id=[f"id-{i}" for i in range(len(holey))])
    with pytest.raises(ValueError, match=r"'customer_id' has 300 distinct values.*drop\(columns=\['customer_id'\]\)"):
        VAEImputer(**FAST).fit(X)


def test_bad_parameters_name_the_argument(holey):
    with pytest.raises(ValueError, match="latent_dim"):
        VAEImputer(latent_dim=0).fit(holey)
    with pytest.raises(ValueError, match="likelihood"):
        VAEImputer(likelihood="poisson").fit(holey)
    with pytest.raises(ValueError, match="learning_rate"):
        VAEImputer(learning_rate="fast").fit(holey)
    with pytest.raises(ValueError, match="column_types"):
        VAEImputer(**FAST, column_types={"x": "weird"}).fit(holey)
    with pytest.raises(ValueError, match="not in the data"):
        VAEImputer(**FAST, column_types={"nope": "integer"}).fit(holey)
    with pytest.raises(ValueError, match="device"):
        VAEImputer(**FAST, device="cuda:7" if not __import__("torch").cuda.is_available() else "bogus").fit(holey)


def test_skewed_column_is_log_transformed_and_zero_spike_split_off():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"gain": np.where(rng.random(500) < 0.7, 0.0, rng.lognormal(8, 1.5, 500)),
                      "size": rng.lognormal(3, 1.5, 500),
                      "x": rng.normal(size=500)})
    X.loc[::10, "x"] = np.nan
    X.loc[::7, "gain"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        imp = VAEImputer(**FAST).fit(X)
    gain, size = imp.schema_[0], imp.schema_[1]
    assert size.transform == "log1p" and not size.zero_mass
    assert gain.zero_mass and gain.transform == "log1p"  # decided on the nonzero values
    out = imp.transform(X)
    filled = out.loc[X["gain"].isna(), "gain"]
    # the mixture's mean: between 0 and the largest value, never negative
    assert (filled >= 0).all() and (filled <= X["gain"].max()).all() and filled.nunique() > 1
    draws = imp.multiple_imputations(X, m=3, random_state=0)
    drawn = pd.concat([d.loc[X["gain"].isna(), "gain"] for d in draws])
    assert (drawn == 0).any() and (drawn > 0).any()  # draws land on the spike and off it


@pytest.mark.parametrize("params", [{"latent_dim": 10**9}, {"hidden_sizes": (10**6, 10**6)}])
def test_a_model_too_large_to_allocate_is_refused_by_its_parameters(holey, params):
    # it was torch's "can't allocate memory: you tried to allocate 1024000000000 bytes"
    with pytest.raises(ValueError, match=r"latent_dim=.* and hidden sizes .* make a model of about [\d,]+ weights"):
        VAEImputer(**{**FAST, **params}).fit(holey)


@pytest.mark.parametrize("written,fix", [
    (lambda v: f"${v:,.2f}", r"pd\.to_numeric\(df\['price'\]\.str\.replace\(r'\[\$€£¥%,\\s\]', '', regex=True\)\)"),
    (lambda v: f"{v:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".") + " €", r"\.str\.replace\(',', '\.'\)"),
    (lambda v: f"{v / 100:.1%}", r"pd\.to_numeric"),
])
def test_numbers_written_with_signs_get_the_fix_that_reads_them(written, fix):
    # they were "an ID or free text"
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=300)})
    X["price"] = [written(v) for v in np.exp(X["x"] + 7)]
    from vaetools.tabular.schema import UnmodelledColumnError

    with pytest.raises(UnmodelledColumnError, match=r"'price' holds numbers written with a currency or percent "
                                                    r"sign or grouped thousands.*" + fix) as info:
        VAEImputer(**FAST).fit(X)
    assert info.value.number_columns == ["price"]


def test_a_zero_spike_is_imputed_from_what_predicts_it():
    # zero exactly where x < 0: hidden cells of rows with x well below 0 are imputed near 0, those
    # well above it near the nonzero values (the "is it nonzero?" part learned the right way round)
    rng = np.random.default_rng(1)
    x = rng.normal(size=800)
    X = pd.DataFrame({"x": x, "gain": np.where(x < 0, 0.0, rng.lognormal(6, 0.3, 800))})
    X.loc[::5, "gain"] = np.nan
    imp = VAEImputer(**FAST).fit(X)
    assert imp.schema_[1].zero_mass
    out = imp.transform(X)["gain"]
    hidden = X["gain"].isna()
    typical = X.loc[X["x"] > 0, "gain"].median()
    assert out[hidden & (X["x"] < -1)].max() < 0.25 * typical
    assert out[hidden & (X["x"] > 1)].min() > 0.5 * typical
