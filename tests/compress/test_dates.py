"""Dates, timestamps, periods and durations in a .vtz file: modelled as whole steps of their
resolution, decoded to their own dtype within the bound, missing cells where they were."""

import datetime

import numpy as np
import pandas as pd
import pytest

from vaetools import VAECompressor, decompress, info
from vaetools.cli import main
from vaetools.compress import VTZError, container

FAST = dict(max_epochs=20, hidden_sizes=(16, 16), latent_dim=4, random_state=0)
TIMES = ["day", "stamp", "wait", "month"]


def dated(n=400, seed=0):
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 1000, n)
    df = pd.DataFrame({
        "x": days / 100 + rng.normal(0, 0.3, n),
        "day": pd.Timestamp("2020-01-01") + pd.to_timedelta(days, unit="D"),
        "stamp": (pd.Timestamp("2021-03-01") + pd.to_timedelta(days * 3600 + rng.integers(0, 3600, n), unit="s"))
        .tz_localize("UTC").tz_convert("Europe/Paris"),  # seconds, across two clock changes
        "wait": pd.to_timedelta(rng.exponential(20, n).round(), unit="min"),
        "month": pd.Series(pd.period_range("2019-01", periods=60, freq="M")[rng.integers(0, 60, n)]),
        "kind": rng.choice(["a", "b", "c"], n),
    })
    for c in TIMES:
        df.loc[rng.random(n) < 0.1, c] = None
    return df


def _wall(s: pd.Series) -> pd.Series:
    """A zoned column on its wall clock, as it is modelled (and its bound holds)."""
    return s.dt.tz_localize(None) if isinstance(s.dtype, pd.DatetimeTZDtype) else s


def _errors(back: pd.Series, truth: pd.Series):
    seen = truth.notna()
    if isinstance(truth.dtype, pd.PeriodDtype):
        return np.array([(a - b).n for a, b in zip(back[seen], truth[seen])])
    return (_wall(back)[seen] - _wall(truth)[seen]).abs()


@pytest.fixture(scope="module")
def df():
    return dated()


@pytest.mark.parametrize("bound", [0.01, 0.002])
def test_dates_decode_within_the_bound_in_their_own_dtypes(tmp_path, df, bound):
    path = tmp_path / "t.vtz"
    VAECompressor(**FAST, error_bound=bound).fit(df).compress(df, path)
    back = decompress(path)
    assert back.dtypes.equals(df.dtypes) and back.isna().equals(df.isna())
    bounds = info(path)["error_bounds"]
    assert all(isinstance(bounds[c], pd.Timedelta) for c in ["day", "stamp", "wait"])
    for c in ["day", "stamp", "wait"]:
        assert _errors(back[c], df[c]).max() <= bounds[c]  # whole steps within the bound
        span = _wall(df[c]).max() - _wall(df[c]).min()
        assert bounds[c] <= bound * span
    assert _errors(back["month"], df["month"]).max() <= bounds["month"]  # periods count periods
    assert (back["kind"] == df["kind"]).all()
    assert info(path)["format_version"] == 8  # a reader of 7 would take them for numbers


def test_arrow_dates_timestamps_and_durations_decode_as_their_numpy_twins_do(tmp_path, df):
    # pd.read_parquet(..., dtype_backend="pyarrow") gives these; they were AttributeError "asi8"
    pa = pytest.importorskip("pyarrow")
    numpy_backed = df.drop(columns="month")
    table = pa.Table.from_pandas(numpy_backed, preserve_index=False)
    table = table.set_column(1, "day", table["day"].cast(pa.date32()))
    arrow = table.to_pandas(types_mapper=pd.ArrowDtype)
    VAECompressor(**FAST, error_bound=0.01).fit(arrow).compress(arrow, tmp_path / "a.vtz")
    VAECompressor(**FAST, error_bound=0.01).fit(numpy_backed).compress(numpy_backed, tmp_path / "n.vtz")
    back, twin = decompress(tmp_path / "a.vtz"), decompress(tmp_path / "n.vtz")
    assert back.dtypes.equals(arrow.dtypes)
    for c in ["day", "stamp", "wait"]:
        pd.testing.assert_series_equal(back[c].astype(twin[c].dtype), twin[c], check_names=False)
    assert info(tmp_path / "a.vtz")["error_bounds"] == info(tmp_path / "n.vtz")["error_bounds"]


def test_a_bound_finer_than_a_step_stores_dates_exactly(tmp_path, df):
    path = tmp_path / "t.vtz"
    exact = {"day": pd.Timedelta("1h"), "stamp": datetime.timedelta(milliseconds=500),
             "wait": np.timedelta64(1, "s"), "month": 0.4, "x": 0.01}
    comp = VAECompressor(**FAST, error_bound=exact, error_mode="absolute").fit(df)
    comp.compress(df, path)
    back = decompress(path)
    for c in TIMES:
        pd.testing.assert_series_equal(back[c], df[c])
    with pytest.raises(ValueError, match=r"error_bound for column 'day', which holds datetime64\[us\], must be a "
                                         r"duration in absolute mode, e\.g\. \{'day': pd\.Timedelta\('1h'\)\}"):
        comp.compress(df, tmp_path / "u.vtz", error_bound={"day": 3})
    assert not (tmp_path / "u.vtz").exists()


def test_nanosecond_timestamps_keep_their_bound_and_one_finer_than_float64_holds_is_refused(tmp_path):
    """A timestamp of 2024 is 1.7e18 nanoseconds, where float64 steps by 256: read as floats
    before the fitted origin was taken off, a year of them at a bound of 1 us decoded up to
    1.18 us off, silently. Over a year (3e16 ns) float64 itself steps by 4 ns, so a bound of
    1 ns is refused, in nanoseconds, with the finest one that holds."""
    rng = np.random.default_rng(0)
    n = 500
    df = pd.DataFrame({"t": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365 * 86400 * 10**9, n),
                                                                         unit="ns"),
                       "x": rng.normal(size=n)})
    comp = VAECompressor(max_epochs=2, random_state=0).fit(df)
    for bound in ("1us", "64ns"):
        comp.compress(df, tmp_path / "t.vtz", error_bound={"t": pd.Timedelta(bound), "x": 0.01},
                      error_mode="absolute", overwrite=True)
        assert (decompress(tmp_path / "t.vtz")["t"] - df["t"]).abs().max() <= pd.Timedelta(bound)
    with pytest.raises(ValueError, match=r"'t' is 1 ns, finer than float64.*Ask for 64 ns or more.*passthrough"):
        comp.compress(df, tmp_path / "ns.vtz", error_bound={"t": pd.Timedelta("1ns"), "x": 0.01},
                      error_mode="absolute")


def test_timestamps_in_the_hour_a_clock_repeats_are_refused_with_the_fix_not_decoded_an_hour_off(tmp_path):
    """Coded on the wall clock, 02:30+02:00 and 02:30+01:00 on 31 October 2021 in Paris are the
    same value, and both decoded as the later: 90 of these 300 came back an hour off under a
    bound of 1 s, silently. Refused now; in UTC they keep the bound."""
    rng = np.random.default_rng(0)
    utc = pd.Timestamp("2021-10-31 00:00", tz="UTC") + pd.to_timedelta(rng.integers(0, 3 * 3600, 300), unit="s")
    df = pd.DataFrame({"t": utc.tz_convert("Europe/Paris"), "x": rng.normal(size=300)})
    bound = {"t": pd.Timedelta("1s"), "x": 0.01}
    comp = VAECompressor(max_epochs=2, random_state=0, error_bound=bound, error_mode="absolute").fit(df)
    with pytest.raises(ValueError, match=r"'t' holds 2021-10-31 02:.*\+02:00, in the hour its time zone's clock "
                                         r"repeats.*an hour off \(90 such values\).*tz_convert\('UTC'\)"):
        comp.compress(df, tmp_path / "t.vtz")
    assert not (tmp_path / "t.vtz").exists()
    in_utc = df.assign(t=df["t"].dt.tz_convert("UTC"))
    VAECompressor(max_epochs=2, random_state=0, error_bound=bound, error_mode="absolute").fit(in_utc).compress(
        in_utc, tmp_path / "utc.vtz")
    back = decompress(tmp_path / "utc.vtz")["t"].dt.tz_convert("Europe/Paris")
    assert (back - df["t"]).abs().max() <= pd.Timedelta("1s")


def test_files_with_dates_are_format_8_and_older_readers_refuse_them(tmp_path, df, monkeypatch):
    comp = VAECompressor(**FAST, error_bound=0.01).fit(df)
    comp.compress(df, tmp_path / "dates.vtz")
    plain = df.drop(columns=TIMES)
    VAECompressor(**FAST, error_bound=0.01).fit(plain).compress(plain, tmp_path / "plain.vtz")
    assert info(tmp_path / "plain.vtz")["format_version"] == 7  # what vaetools before dates reads
    monkeypatch.setattr(container, "FORMAT_VERSION", 7)
    pd.testing.assert_frame_equal(decompress(tmp_path / "plain.vtz"), decompress(tmp_path / "plain.vtz"))
    with pytest.raises(VTZError, match="format version 8, newer than this vaetools reads"):
        decompress(tmp_path / "dates.vtz")


@pytest.mark.parametrize("arrow", [False, True])
def test_times_of_day_decode_within_the_bound_and_older_readers_refuse_them(tmp_path, monkeypatch, arrow):
    rng = np.random.default_rng(0)
    seconds = rng.integers(6 * 3600, 20 * 3600, 300)
    df = pd.DataFrame({"x": seconds / 3600 + rng.normal(0, 0.3, 300),
                       "t": pd.Series([datetime.time(int(s) // 3600, int(s) // 60 % 60, int(s) % 60)
                                       if i % 9 else None for i, s in enumerate(seconds)], dtype=object)})
    if arrow:
        pa = pytest.importorskip("pyarrow")
        df = df.astype({"t": pd.ArrowDtype(pa.time64("us"))})
    path = tmp_path / "t.vtz"
    comp = VAECompressor(**FAST, error_bound={"t": pd.Timedelta("5min")}, error_mode="absolute").fit(df)
    comp.compress(df, path)
    back = decompress(path)
    assert back.dtypes.equals(df.dtypes) and back["t"].isna().equals(df["t"].isna())
    seconds_of = lambda s: np.array([v.hour * 3600 + v.minute * 60 + v.second for v in s.dropna().astype(object)])  # noqa: E731
    assert np.abs(seconds_of(back["t"]) - seconds_of(df["t"])).max() <= 300
    comp.compress(df, tmp_path / "exact.vtz", error_bound={"t": pd.Timedelta("500ms")})  # under a step: exact
    assert decompress(tmp_path / "exact.vtz")["t"].equals(df["t"])
    assert info(path)["error_bounds"]["t"] == pd.Timedelta("5min")
    assert info(path)["format_version"] == 10
    monkeypatch.setattr(container, "FORMAT_VERSION", 9)  # a reader of 9 would refuse it as damaged
    with pytest.raises(VTZError, match="format version 10, newer than this vaetools reads"):
        decompress(path)


def test_times_of_day_around_midnight_decode_within_the_bound_as_format_12(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    minutes = (1440 + rng.integers(-120, 120, 300)) % 1440  # 22:00 to 02:00
    df = pd.DataFrame({"x": rng.normal(size=300),
                       "t": pd.Series([datetime.time(int(m) // 60, int(m) % 60) if i % 9 else None
                                       for i, m in enumerate(minutes)], dtype=object)})
    path = tmp_path / "t.vtz"
    VAECompressor(**FAST, error_bound={"t": pd.Timedelta("5min")}, error_mode="absolute").fit(df).compress(df, path)
    back = decompress(path)
    assert back["t"].isna().equals(df["t"].isna())
    got = np.array([v.hour * 60 + v.minute for v in back["t"].dropna()])
    diff = np.abs(got - minutes[df["t"].notna().to_numpy()])
    assert np.minimum(diff, 1440 - diff).max() <= 5  # around the clock: 23:58 for 00:01 would be 3 minutes
    facts = info(path)
    assert facts["format_version"] == 12 and "the day starting at 22:00" in facts["column_kinds"]["t"]
    monkeypatch.setattr(container, "FORMAT_VERSION", 11)
    with pytest.raises(VTZError, match="format version 12, newer than this vaetools reads"):
        decompress(path)


def test_codes_samples_and_scores_keep_dates(df):
    comp = VAECompressor(**FAST).fit(df)
    back = comp.inverse_transform(comp.transform(df))
    assert back.dtypes.equals(df.dtypes) and not back[TIMES].isna().any().any()
    drawn = comp.sample(50, random_state=0)
    assert drawn.dtypes.equals(df.dtypes)
    assert drawn["day"].between(df["day"].min(), df["day"].max()).all()
    err = comp.reconstruction_error(df)
    assert 0 < err["rmse"] < 1.5  # standardized units: dates counted in days, not nanoseconds


def test_info_on_the_command_line_gives_date_bounds_as_durations(tmp_path, df, capsys):
    path = tmp_path / "t.vtz"
    VAECompressor(**FAST, error_bound=0.01).fit(df).compress(df, path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    line = next(x for x in out if x.startswith("error bounds:"))
    assert f"day: {info(path)['error_bounds']['day']}" in line and "days" in line
    kinds = {x.split()[0]: x for x in out if x.startswith("  ")}  # what each column counts in
    assert kinds["stamp"].endswith("integer: dates and times in steps of a second (Europe/Paris wall clock)")
    assert kinds["month"].endswith("integer: periods (period[M]) counted one by one")


def test_a_header_whose_date_dtype_does_not_parse_is_an_error_naming_the_file(tmp_path, df, monkeypatch):
    from vaetools.compress import codec

    comp = VAECompressor(**FAST, error_bound=0.01).fit(df)
    write = container.write

    def hostile(path, header, weights, chunks, **options):  # checksums are easy to forge
        next(c for c in header["columns"] if c["name"] == "day")["dtype"] = "datetime64[fortnights]"
        return write(path, header, weights, chunks, **options)

    monkeypatch.setattr(container, "write", hostile)
    comp.compress(df, tmp_path / "t.vtz")
    monkeypatch.undo()
    with pytest.raises(VTZError, match="t.vtz is corrupted: its header does not describe the columns' dtypes"):
        codec.decompress_file(tmp_path / "t.vtz")


def test_a_saved_compressor_with_dates_loads_and_writes_the_same_file(tmp_path, df):
    comp = VAECompressor(**FAST, error_bound=0.01).fit(df)
    comp.save(tmp_path / "c.vtm")
    loaded = VAECompressor.load(tmp_path / "c.vtm")
    comp.compress(df, tmp_path / "a.vtz")
    loaded.compress(df, tmp_path / "b.vtz")
    assert (tmp_path / "a.vtz").read_bytes() == (tmp_path / "b.vtz").read_bytes()
    assert loaded.sample(5, random_state=0).dtypes.equals(df.dtypes)
