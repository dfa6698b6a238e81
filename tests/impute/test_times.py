"""Dates, timestamps, periods, durations and times of day: imputed as such, in their own dtype,
resolution and zone."""

import datetime
import warnings

import numpy as np
import pandas as pd
import pytest

from vaetools import VAEImputer
from vaetools.persist import describe_saved
from vaetools.tabular.schema import UnmodelledColumnError

from .conftest import FAST


def dated(n=400, seed=0):
    """A table where every time column follows ``x``: each is predictable from the others."""
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 1000, n)
    seconds = days * 86_400 + rng.integers(0, 86_400, n)
    return pd.DataFrame({
        "x": days / 100 + rng.normal(0, 0.2, n),
        "day": (pd.Timestamp("2020-01-01") + pd.to_timedelta(days, unit="D")).astype("datetime64[s]"),
        "stamp": (pd.Timestamp("2020-01-01") + pd.to_timedelta(seconds, unit="s")).tz_localize(
            "Europe/Paris", nonexistent="shift_forward", ambiguous=False),
        "wait": pd.to_timedelta(np.round(days / 10 + rng.exponential(5, n)), unit="min"),
        "month": pd.Series(pd.Period("2020-01", freq="M") + days // 30).astype("period[M]"),
    })


def hide(df, rate=0.3, seed=1, keep=("x",)):
    rng = np.random.default_rng(seed)
    hidden = pd.DataFrame(rng.random(df.shape) < rate, index=df.index, columns=df.columns)
    hidden[list(keep)] = False
    return df.mask(hidden), hidden


def test_dates_times_and_durations_are_imputed_in_their_dtypes():
    truth = dated()
    X, hidden = hide(truth)
    out = VAEImputer(**FAST).fit_transform(X)
    assert out.dtypes.equals(X.dtypes)  # datetime64[s], the time zone, timedelta64
    assert not out.isna().any().any()
    for c in X.columns:  # observed cells come back as they were
        pd.testing.assert_series_equal(out[c][~hidden[c]], X[c][~hidden[c]])
    day = out["day"][hidden["day"]]
    assert (day == day.dt.normalize()).all()  # a date-only column gets dates, not times of day
    assert ((day >= truth["day"].min()) & (day <= truth["day"].max())).all()
    assert (out["wait"][hidden["wait"]] % pd.Timedelta(minutes=1) == pd.Timedelta(0)).all()
    months = out["month"].array.asi8 - truth["month"].array.asi8
    median = X["month"].dropna().array.asi8
    assert np.abs(months[hidden["month"]]).mean() < np.abs(np.median(median) - truth["month"].array.asi8[hidden["month"]]).mean() / 5
    # the model uses what the other columns say: days away, where the column's median is months away
    for c in ("day", "stamp"):
        error = (out[c] - truth[c])[hidden[c]].abs().mean()
        baseline = (X[c].median() - truth[c])[hidden[c]].abs().mean()
        assert error < baseline / 5, (c, error, baseline)


def as_arrow(df):
    """``df`` as ``pd.read_parquet(..., dtype_backend="pyarrow")`` gives it: Arrow dates,
    zoned timestamps and durations (periods have no Arrow type)."""
    pa = pytest.importorskip("pyarrow")
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.set_column(table.schema.get_field_index("day"), "day", table["day"].cast(pa.date32()))
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def test_arrow_dates_timestamps_and_durations_impute_as_their_numpy_twins_do(tmp_path):
    # they were "'ArrowExtensionArray' object has no attribute 'asi8'", and Arrow durations
    # unordered categories
    truth = dated().drop(columns="month")
    X, hidden = hide(truth)
    arrow = as_arrow(X)
    out = VAEImputer(**FAST).fit(arrow)
    filled = out.transform(arrow)
    assert filled.dtypes.equals(arrow.dtypes) and filled.notna().all().all()
    twin = VAEImputer(**FAST).fit_transform(X)  # the same table held in NumPy-backed dtypes
    for c in X.columns:
        back = filled[c].astype(X[c].dtype) if c != "x" else filled[c].astype("float64")
        pd.testing.assert_series_equal(back, twin[c], check_names=False)
    assert [s.time["kind"] for s in out.schema_[1:]] == ["datetime", "datetime", "duration"]
    out.save(tmp_path / "arrow.vtm")
    pd.testing.assert_frame_equal(VAEImputer.load(tmp_path / "arrow.vtm").transform(arrow), filled)


def clocked(n=400, seed=0):
    """A table whose time-of-day column ``t`` (whole seconds, 06:00 to 20:00) follows ``x``."""
    rng = np.random.default_rng(seed)
    seconds = rng.integers(6 * 3600, 20 * 3600, n)
    times = [datetime.time(int(s) // 3600, int(s) // 60 % 60, int(s) % 60) for s in seconds]
    return pd.DataFrame({"x": seconds / 3600 + rng.normal(0, 0.3, n), "t": pd.Series(times, dtype=object)})


def seconds_of(s: pd.Series) -> np.ndarray:
    return np.array([np.nan if pd.isna(v) else v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6
                     for v in s.astype(object)])


@pytest.mark.parametrize("arrow_type", [None, ("time32", "s"), ("time64", "ns")])
def test_times_of_day_are_imputed_as_times_of_day(tmp_path, arrow_type):
    # Python times (polars' Time, Parquet's time64 as pandas reads them) and Arrow times were
    # unordered categories, and past 100 of them refused as "an ID or free text"
    truth = clocked()
    X, hidden = hide(truth)
    if arrow_type:
        pa = pytest.importorskip("pyarrow")
        X = X.astype({"t": pd.ArrowDtype(getattr(pa, arrow_type[0])(arrow_type[1]))})
    imp = VAEImputer(**FAST).fit(X)
    out = imp.transform(X)
    assert out.dtypes.equals(X.dtypes) and out.notna().all().all()
    assert imp.schema_[1].time == {"kind": "timeofday", "unit": arrow_type[1] if arrow_type else "us",
                                   "step": 10**9 // {"s": 10**9, "us": 10**3, "ns": 1}[arrow_type[1] if arrow_type else "us"],
                                   "origin": 0, "tz": None}  # whole seconds
    got, want, seen = seconds_of(out["t"]), seconds_of(truth["t"]), ~hidden["t"].to_numpy()
    assert got[seen].tolist() == want[seen].tolist()  # observed times as they were
    assert (got % 1 == 0).all() and ((got >= 6 * 3600) & (got < 20 * 3600)).all()  # whole seconds, in the observed span
    error = np.abs(got - want)[~seen].mean()
    assert error < np.abs(np.median(want[seen]) - want[~seen]).mean() / 2  # the model reads x
    imp.save(tmp_path / "t.vtm")
    pd.testing.assert_frame_equal(VAEImputer.load(tmp_path / "t.vtm").transform(X), out)
    # a vaetools that would refuse the description as damaged refuses it as newer
    assert describe_saved(tmp_path / "t.vtm")["version"] == 8
    assert describe_saved(tmp_path / "t.vtm")["times"] == {"t": "times of day in steps of a second"}


def test_times_of_day_around_midnight_start_their_day_in_the_gap(tmp_path):
    # bedtimes from 21:30 to 02:30 on a line from midnight were a day apart across it: imputed
    # ones averaged to the afternoon (mean error 180 minutes, a third of them between 03:00 and
    # 21:00); the day now starts at the first time after the longest gap
    rng = np.random.default_rng(0)
    x = rng.normal(size=600)
    minutes = np.clip(1440 + 60 * x + rng.normal(0, 15, 600), 21.5 * 60, 26.5 * 60).round() % 1440
    truth = pd.DataFrame({"x": x, "bed": pd.Series([datetime.time(int(m) // 60, int(m) % 60) for m in minutes],
                                                   dtype=object)})
    hidden = rng.random(600) < 0.3
    X = truth.copy()
    X.loc[hidden, "bed"] = None
    imp = VAEImputer(**FAST).fit(X)
    assert imp.schema_[1].time["origin"] == 21 * 3600 * 10**6 + 30 * 60 * 10**6  # 21:30, in microseconds
    out = imp.transform(X)
    got = seconds_of(out["bed"])[hidden] / 60
    assert not ((got > 2.5 * 60) & (got < 21.5 * 60)).any()  # among the observed bedtimes
    error = np.abs(got - minutes[hidden])
    assert np.minimum(error, 1440 - error).mean() < 30
    imp.save(tmp_path / "bed.vtm")
    pd.testing.assert_frame_equal(VAEImputer.load(tmp_path / "bed.vtm").transform(X), out)
    assert describe_saved(tmp_path / "bed.vtm")["version"] == 10  # a reader of 9 would refuse the origin
    assert describe_saved(tmp_path / "bed.vtm")["times"] == {
        "bed": "times of day in steps of a minute, the day starting at 21:30"}


def test_times_of_day_declared_categorical_or_zoned_stay_categories():
    X, _ = hide(clocked(120))
    X["t"] = X["t"].map(lambda v: None if pd.isna(v) else v.replace(second=0, minute=v.minute // 30 * 30))
    imp = VAEImputer(**FAST, column_types={"t": "categorical"}).fit(X)
    assert imp.schema_[1].kind == "categorical" and imp.schema_[1].time is None
    zoned = X.assign(t=X["t"].map(lambda v: None if pd.isna(v) else v.replace(tzinfo=datetime.timezone.utc)))
    assert VAEImputer(**FAST).fit(zoned).schema_[1].kind == "categorical"  # no wall clock to count in


@pytest.mark.parametrize("change,message", [
    (lambda X: X.assign(t=1.0), r"'t' held times of day at fit but now holds numbers or categories"),
    (lambda X: X.assign(t="08:00"), r"'t' held times of day at fit but now holds numbers or categories"),
    (lambda X: X.assign(x=X["t"]), r"'x' held numbers or categories at fit but now holds times of day"),
])
def test_a_time_of_day_column_that_changed_kind_is_refused(change, message):
    X, _ = hide(clocked(120))
    imp = VAEImputer(**FAST).fit(X)
    with pytest.raises(ValueError, match=message):
        imp.transform(change(X))
    assert imp.transform(X.assign(t=None)).notna().all().all()  # all missing: still times, filled


def test_saved_imputer_gives_the_same_dates(tmp_path):
    X, _ = hide(dated(200))
    imp = VAEImputer(**FAST).fit(X)
    imp.save(tmp_path / "m.vtm")
    pd.testing.assert_frame_equal(VAEImputer.load(tmp_path / "m.vtm").transform(X), imp.transform(X))
    # a vaetools that would read dates as numbers refuses the file; one without dates it still reads
    assert describe_saved(tmp_path / "m.vtm")["version"] == 7
    VAEImputer(**FAST).fit(X[["x"]].assign(y=X["x"] * 2)).save(tmp_path / "plain.vtm")
    assert describe_saved(tmp_path / "plain.vtm")["version"] == 6
    assert describe_saved(tmp_path / "m.vtm")["times"] == {
        "day": "dates and times in steps of a day", "stamp": "dates and times in steps of a second (Europe/Paris "
        "wall clock)", "wait": "durations in steps of a minute", "month": "periods (period[M]) counted one by one"}
    drawn = imp.multiple_imputations(X, m=2, random_state=0)
    assert all(t.dtypes.equals(X.dtypes) and not t.isna().any().any() for t in drawn)


@pytest.mark.parametrize("change,message", [
    (lambda X: X.assign(day=1.0), r"'day' held dates and times at fit but now holds numbers"),
    (lambda X: X.assign(x=X["day"]), r"'x' held numbers or categories at fit but now holds dates"),
    (lambda X: X.assign(wait=X["day"]), r"'wait' held durations at fit but now holds dates"),
    (lambda X: X.assign(stamp=X["stamp"].dt.tz_localize(None)), r"'stamp' was in time zone Europe/Paris at fit"),
    (lambda X: X.assign(month=X["month"].dt.asfreq("D")), r"'month' held period\[M\] at fit but now holds period\[D\]"),
])
def test_a_time_column_that_changed_kind_is_refused(change, message):
    # numbers where dates were would be read as nanoseconds since 1970: silently wrong
    X, _ = hide(dated(200))
    imp = VAEImputer(**FAST).fit(X)
    with pytest.raises(ValueError, match=message):
        imp.transform(change(X))


def test_another_time_zone_at_transform_is_the_same_instants():
    X, _ = hide(dated(200))
    imp = VAEImputer(**FAST).fit(X)
    utc = imp.transform(X.assign(stamp=X["stamp"].dt.tz_convert("UTC")))
    assert str(utc["stamp"].dtype.tz) == "UTC"
    pd.testing.assert_series_equal(utc["stamp"].dt.tz_convert("Europe/Paris"), imp.transform(X)["stamp"])


def test_dates_as_text_or_as_categories_get_the_fix():
    X, _ = hide(dated(300))
    text = X.assign(day=X["day"].dt.strftime("%d/%m/%Y"))
    with pytest.raises(UnmodelledColumnError, match=r"'day' holds dates written as text.*pd\.to_datetime") as info:
        VAEImputer(**FAST).fit(text)
    assert info.value.date_columns == ["day"] and info.value.column == "day"
    # with an ID beside it, one error names both, each with its fix
    with pytest.raises(UnmodelledColumnError, match=r"2 columns cannot be modelled:\n- column 'day' holds dates.*"
                                                    r"pd\.to_datetime.*\n- column 'id' has 300 distinct values") as info:
        VAEImputer(**FAST).fit(text.assign(id=[f"r{i}" for i in range(300)]))
    assert info.value.columns == ["day", "id"] and info.value.date_columns == ["day"]
    with pytest.raises(ValueError, match=r"column_types\['day'\] = 'categorical'.*astype\(str\)"):
        VAEImputer(**FAST, column_types={"day": "categorical"}).fit(X)


def test_an_all_missing_date_column_is_dropped_or_kept_as_zeros():
    X, _ = hide(dated(200))
    X["never"] = pd.Series(pd.NaT, index=X.index, dtype="datetime64[ns]")
    with pytest.warns(UserWarning, match="Skipping features"):
        assert "never" not in VAEImputer(**FAST).fit_transform(X).columns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept = VAEImputer(**FAST, keep_empty_features=True).fit_transform(X)
    assert (kept["never"] == 0.0).all()  # as an all-missing text column is kept


def test_dates_spanning_the_whole_nanosecond_range_impute_inside_it():
    # steps from the origin past 2**63 nanoseconds overflowed the integer cast (a RuntimeWarning
    # and, for some cells, a date wrapped round to 1677)
    rng = np.random.default_rng(0)
    ext = pd.Series(pd.to_datetime(["1677-09-22", "2262-04-10"] * 40)).astype("datetime64[ns]")
    X = pd.DataFrame({"x": rng.normal(size=80), "ext": ext.mask(np.arange(80) % 4 == 0)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = VAEImputer(**FAST).fit_transform(X)
    assert out["ext"].notna().all() and out["ext"].between(ext.min(), ext.max()).all()
