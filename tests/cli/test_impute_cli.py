"""``vaetools impute`` as a person at a terminal uses it."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from vaetools.cli import main


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    t = rng.normal(size=200)
    df = pd.DataFrame({"a": t, "b": 2 * t + 0.1 * rng.normal(size=200),
                       "kind": np.where(t > 0, "up", "down"), "id": [f"r{i}" for i in range(200)]})
    df.loc[::5, "a"] = np.nan
    df.loc[1::7, "kind"] = np.nan
    path = tmp_path / "in.csv"
    df.to_csv(path, index=False)
    return path, df


FAST = ["--epochs", "20", "--imputation-draws", "10", "-q"]


def test_impute_csv_and_reuse_saved_model(tmp_path, table, capsys):
    src, df = table
    out = tmp_path / "out.csv"
    model = tmp_path / "model.vtm"
    assert main(["impute", str(src), "-o", str(out), "--drop", "id", "--save-model", str(model), *FAST]) == 0
    got = pd.read_csv(out)
    assert list(got.columns) == list(df.columns) and not got[["a", "b", "kind"]].isna().any().any()
    assert (got["id"] == df["id"]).all()
    out2 = tmp_path / "out2.csv"
    assert main(["impute", str(src), "-o", str(out2), "--drop", "id", "--model", str(model), "-q"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out2), got)
    assert "wrote" in capsys.readouterr().err


def test_precision_applies_to_a_fitted_and_to_a_loaded_model(tmp_path, table, capsys):
    """--precision chooses the decoder's precision: the same fit imputes its hidden cells
    differently in each, a loaded model keeps the precision it was saved with, and --precision
    overrides it."""
    src, df = table
    outs = {}
    for precision in ("float32", "bfloat16"):
        outs[precision] = tmp_path / f"{precision}.csv"
        assert main(["impute", str(src), "-o", str(outs[precision]), "--drop", "id", "--precision", precision,
                     "--save-model", str(tmp_path / f"{precision}.vtm"), *FAST]) == 0
    full, low = pd.read_csv(outs["float32"]), pd.read_csv(outs["bfloat16"])
    observed = df["a"].notna()
    pd.testing.assert_series_equal(full["a"][observed], low["a"][observed])
    assert not full["a"][~observed].equals(low["a"][~observed])  # the same fit, imputed in two precisions
    model = tmp_path / "bfloat16.vtm"
    for extra, expected in (([], low), (["--precision", "float32"], full)):
        again = tmp_path / "again.csv"
        assert main(["impute", str(src), "-o", str(again), "--drop", "id", "--model", str(model), "-q",
                     "--overwrite", *extra]) == 0
        pd.testing.assert_frame_equal(pd.read_csv(again), expected)
    with pytest.raises(SystemExit):
        main(["impute", str(src), "-o", str(tmp_path / "x.csv"), "--precision", "float16"])
    assert "invalid choice: 'float16'" in capsys.readouterr().err


def test_every_column_comes_back_in_its_place_empty_ones_and_dropped_ones_too(tmp_path, table, capsys):
    # an empty column was dropped from the output (the imputer's sklearn behaviour, with a warning
    # naming a Python parameter), and --drop listing columns right to left was
    # "error: loc must be an integer between -1 and 1"
    src, df = table
    df = df.assign(never=np.nan, note="x")[["note", "a", "never", "b", "kind", "id"]]
    df.to_csv(src, index=False)
    out, model = tmp_path / "out.csv", tmp_path / "m.vtm"
    assert main(["impute", str(src), "-o", str(out), "--drop", "id", "note", "--save-model", str(model), *FAST]) == 0
    err = capsys.readouterr().err
    assert "column 'never' has no value: written back empty" in err and "keep_empty_features" not in err
    got = pd.read_csv(out)
    assert list(got.columns) == list(df.columns) and got["never"].isna().all()
    assert (got["id"] == df["id"]).all() and (got["note"] == "x").all()
    assert not got[["a", "b", "kind"]].isna().any().any()
    assert main(["impute", str(src), "-o", str(tmp_path / "again.csv"), "--drop", "id", "note", "--model", str(model),
                 "-q"]) == 0  # the saved model, without the empty column, on the same table
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "again.csv"), got)


@pytest.mark.parametrize("sep,decimal", [(",", "."), (";", ",")])
def test_a_csv_s_numbers_come_back_as_written_and_imputed_ones_with_its_decimal_places(tmp_path, sep, decimal):
    # 1.080 came back as 1.08 and 1e3 as 1000.0, imputed values with 16 digits
    rng = np.random.default_rng(0)
    t = rng.normal(size=120)
    a = pd.Series([f"{v:.3f}" for v in t], dtype=object)
    b = pd.Series([f"{v:.2f}" for v in 2 * t + 5], dtype=object)
    big = pd.Series([f"{v:.1e}" for v in np.exp(t + 5)], dtype=object)  # 1.2e+02: not plain
    for col, every in ((a, 5), (b, 7), (big, 6)):
        col[::every] = None
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    frame = pd.DataFrame({"a": a, "b": b, "big": big})
    (frame.apply(lambda c: c.str.replace(".", decimal, regex=False)) if decimal == "," else frame).to_csv(
        src, index=False, sep=sep)
    assert main(["impute", str(src), "-o", str(out), *FAST]) == 0
    given = pd.read_csv(src, dtype=str, sep=sep, keep_default_na=False)
    got = pd.read_csv(out, dtype=str, sep=sep, keep_default_na=False)
    for c in given.columns:
        seen = given[c] != ""
        assert (got[c][seen] == given[c][seen]).all()  # as written, trailing zeros and exponents too
        assert (got[c] != "").all()
    mark = "\\" + decimal if decimal == "." else decimal
    assert got["a"][given["a"] == ""].str.fullmatch(rf"-?\d+{mark}\d{{3}}").all()  # the column's 3 places
    assert got["b"][given["b"] == ""].str.fullmatch(rf"-?\d+{mark}\d{{2}}").all()
    assert main(["impute", str(src), "-o", str(tmp_path / "m.csv"), "--multiple", "2", *FAST]) == 0
    stacked = pd.read_csv(tmp_path / "m.csv", dtype=str, sep=sep, keep_default_na=False)
    for i in (1, 2):
        copy = stacked[stacked["imputation"] == str(i)].reset_index(drop=True)
        assert (copy["a"][given["a"] != ""] == given["a"][given["a"] != ""]).all()
        assert copy["a"][given["a"] == ""].str.fullmatch(rf"-?\d+{mark}\d{{3}}").all()


def test_warnings_are_one_line_each(tmp_path, table, capsys):
    src, df = table
    df.assign(kind=df["kind"].where(df.index % 9 != 0, "?")).to_csv(src, index=False)
    assert main(["impute", str(src), "-o", str(tmp_path / "o.csv"), "--drop", "id", *FAST]) == 0
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if ": warning: " in line]
    assert warned and all(line.startswith("vaetools impute: warning: column 'kind' holds '?'") for line in warned)
    assert ".py:" not in err  # no Python file and line


def test_column_types_force_a_kind(tmp_path, table):
    src, df = table
    out = tmp_path / "out.csv"
    # "b" is numeric; forced categorical, it is imputed with values it already holds
    holey = df.copy()
    holey["b"] = np.round(holey["b"]).astype(float)
    holey.loc[::3, "b"] = np.nan
    holey.to_csv(src, index=False)
    assert main(["impute", str(src), "-o", str(out), "--drop", "id", "--column-types", "b=categorical", *FAST]) == 0
    got = pd.read_csv(out)
    assert set(got["b"].unique()) <= set(holey["b"].dropna().unique())


def test_na_values_mark_missing_cells_and_integers_stay_integers(tmp_path, table):
    src, df = table
    holey = df.drop(columns="id").assign(count=np.arange(200) % 7)
    holey["count"] = holey["count"].astype(object)
    holey.loc[::4, "count"] = None  # an integer column with empty fields
    holey["a"] = holey["a"].astype(object).where(holey["a"].notna(), "?")
    holey["kind"] = holey["kind"].where(holey["kind"].notna(), "?")
    holey.to_csv(src, index=False)
    out = tmp_path / "out.csv"
    assert main(["impute", str(src), "-o", str(out), "--na-values", "?", *FAST]) == 0
    text = out.read_text()
    assert "?" not in text
    got = pd.read_csv(out)
    assert got["a"].dtype == np.float64 and set(got["kind"]) == {"up", "down"}
    assert got["count"].dtype == np.int64  # written as 3, not 3.0
    assert (got.loc[1::4, "count"] == np.arange(200)[1::4] % 7).all()


def test_parquet_na_values(tmp_path, table):
    pytest.importorskip("pyarrow")
    src, df = table
    holey = df.drop(columns="id")
    holey["a"] = holey["a"].fillna(-999.0)
    holey["kind"] = holey["kind"].fillna("?")
    pq = tmp_path / "in.parquet"
    holey.to_parquet(pq)
    out = tmp_path / "out.parquet"
    assert main(["impute", str(pq), "-o", str(out), "--na-values", "?", "-999", *FAST]) == 0
    got = pd.read_parquet(out)
    assert not (got["a"] == -999).any() and set(got["kind"]) == {"up", "down"}
    seen = df["a"].notna()
    np.testing.assert_array_equal(got.loc[seen, "a"], df.loc[seen, "a"])


def test_parquet_round_trip(tmp_path, table):
    pytest.importorskip("pyarrow")
    src, df = table
    pq = tmp_path / "in.parquet"
    df.to_parquet(pq)
    out = tmp_path / "out.parquet"
    assert main(["impute", str(pq), "-o", str(out), "--drop", "id", *FAST]) == 0
    assert not pd.read_parquet(out)[["a", "kind"]].isna().any().any()


def test_refuses_to_overwrite_input_or_existing_output(tmp_path, table, capsys):
    src, _ = table
    before = src.read_bytes()
    assert main(["impute", str(src), "-o", str(src), *FAST]) == 2
    assert "is the input file" in capsys.readouterr().err
    assert src.read_bytes() == before
    out = tmp_path / "exists.csv"
    out.write_text("keep me")
    assert main(["impute", str(src), "-o", str(out), "--drop", "id", *FAST]) == 2
    assert "--overwrite" in capsys.readouterr().err and out.read_text() == "keep me"
    assert main(["impute", str(src), "-o", str(out), "--drop", "id", "--overwrite", *FAST]) == 0


def test_output_that_appears_during_the_fit_is_kept(tmp_path, table, capsys, monkeypatch):
    from vaetools import VAEImputer

    src, _ = table
    out = tmp_path / "out.csv"
    neighbour = tmp_path / "out.csv.partial"  # a user's file whose name an older version wrote to
    neighbour.write_text("mine")
    transform = VAEImputer.transform

    def transform_while_someone_writes(self, X):
        out.write_text("written meanwhile")
        return transform(self, X)

    monkeypatch.setattr(VAEImputer, "transform", transform_while_someone_writes)
    assert main(["impute", str(src), "-o", str(out), "--drop", "id", *FAST]) == 2
    assert "appeared while vaetools was working" in capsys.readouterr().err
    assert out.read_text() == "written meanwhile" and neighbour.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv", "out.csv.partial"]


@pytest.mark.parametrize("args,message", [
    (["impute", "missing.csv", "-o", "x.csv"], "does not exist"),
    (["impute", "{src}", "-o", "out.xlsx"], "unknown extension"),
    (["impute", "{src}", "-o", "{tmp}/out.csv"], "'id' has 200 distinct values"),
    (["impute", "{src}", "-o", "{tmp}/out.csv", "--drop", "nope"], "--drop names columns"),
    (["impute", "{src}", "-o", "{tmp}/out.csv", "--drop", "id", "--dates", "nope"], "--dates names a column"),
    (["impute", "{src}", "-o", "{tmp}/out.csv", "--drop", "id", "--dates", "kind"],
     "--dates: column 'kind' of {src} does not read as dates"),
    (["impute", "{src}", "-o", "{tmp}/out.csv", "--drop", "id", "--dates", "kind", "--date-order", "day-first"],
     "--dates: column 'kind' of {src} does not read as dates in one format in day-first order"),
    (["impute", "{src}", "-o", "{tmp}/out.csv", "--drop", "id", "--column-types", "a=text"], "kind one of"),
    (["impute", "{src}", "-o", "{tmp}/out.csv", "--drop", "id", "--column-types", "nope=integer"],
     "column_types names columns that are not in the data"),
])
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, table, capsys, args, message):
    src, _ = table
    argv = [a.format(src=src, tmp=tmp_path) for a in args] + FAST
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message.format(src=src) in err and "Traceback" not in err


def test_dates_written_as_text_are_imputed_as_dates_and_written_back_as_they_came(tmp_path, capsys):
    rng = np.random.default_rng(0)
    days = rng.integers(0, 900, 300)
    when = (pd.Timestamp("2020-01-01") + pd.to_timedelta(days, unit="D")).strftime("%d/%m/%Y")
    df = pd.DataFrame({"x": days / 100 + rng.normal(0, 0.2, 300), "when": when})
    df.loc[rng.random(300) < 0.3, "when"] = None
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    df.to_csv(src, index=False)
    assert main(["impute", str(src), "-o", str(out), *FAST]) == 2  # too many values to be categories
    assert "'when' holds dates written as text (e.g. '" in capsys.readouterr().err  # and says how
    df.assign(id=[f"r{i}" for i in range(300)]).to_csv(tmp_path / "ids.csv", index=False)
    assert main(["impute", str(tmp_path / "ids.csv"), "-o", str(out), *FAST]) == 2
    assert "to impute it as dates or times, add --dates when; to pass it through untouched, add --drop id" in \
        capsys.readouterr().err
    assert main(["impute", str(src), "-o", str(out), "--dates", "when", *FAST]) == 0
    got = pd.read_csv(out, dtype=str)
    observed = df["when"].notna()
    assert (got["when"][observed] == df["when"][observed]).all()  # day first, as in the input
    imputed = pd.to_datetime(got["when"][~observed], format="%d/%m/%Y")  # every one a date in that format
    truth = pd.Timestamp("2020-01-01") + pd.to_timedelta(days[~observed], unit="D")
    assert (imputed - truth).abs().mean() < pd.Timedelta(days=60)  # the column's median: ~225 days off


def test_times_of_day_written_as_text_are_imputed_as_times_and_written_back_in_their_format(tmp_path, capsys):
    rng = np.random.default_rng(0)
    seconds = rng.integers(6 * 3600, 20 * 3600, 300)
    clock = pd.Series([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in seconds], dtype=object)
    clock[rng.random(300) < 0.3] = None
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    pd.DataFrame({"x": seconds / 3600 + rng.normal(0, 0.3, 300), "at": clock}).to_csv(src, index=False)
    assert main(["impute", str(src), "-o", str(out), *FAST]) == 2
    assert "'at' holds times of day written as text (e.g. '" in capsys.readouterr().err
    assert main(["impute", str(src), "-o", str(out), "--dates", "at", *FAST]) == 0
    got = pd.read_csv(out, dtype=str)["at"]
    seen = clock.notna()
    assert (got[seen] == clock[seen]).all()  # as they came
    assert got[~seen].str.fullmatch(r"\d\d:\d\d:\d\d").all()  # imputed in the column's format
    imputed = pd.to_timedelta(got[~seen]).dt.total_seconds().to_numpy()
    assert np.abs(imputed - seconds[~seen]).mean() < np.abs(np.median(seconds[seen]) - seconds[~seen]).mean() / 2


def test_numbers_with_currency_and_percent_signs_are_imputed_and_written_back_the_same_way(tmp_path, capsys):
    # a spreadsheet's export: "$1,234.50" and "51.3%" were 'an ID or free text'
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    price = pd.Series([f"${v:,.2f}" for v in np.exp(x + 7)], dtype=object)
    pct = pd.Series([f"{v:.1f}%" for v in 50 + 10 * x], dtype=object)
    hidden = rng.random(300) < 0.3
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    pd.DataFrame({"x": x.round(3), "price": price.where(~hidden), "pct": pct}).to_csv(src, index=False)
    assert main(["impute", str(src), "-o", str(out), *FAST]) == 2
    assert "to impute them as numbers, add --numbers price pct" in capsys.readouterr().err
    assert main(["impute", str(src), "-o", str(out), "--numbers", "price", "pct", *FAST]) == 0
    got = pd.read_csv(out, dtype=str)
    assert (got["price"][~hidden] == price[~hidden]).all() and (got["pct"] == pct).all()  # as they came
    assert got["price"][hidden].str.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d").all()  # written as the column writes
    imputed = got["price"][hidden].str.replace(r"[$,]", "", regex=True).astype(float)
    truth = np.exp(x[hidden] + 7)
    assert np.abs(np.log(imputed) - np.log(truth)).mean() < np.abs(np.log(np.median(truth)) - np.log(truth)).mean() / 3
    assert main(["impute", str(src), "-o", str(tmp_path / "out.parquet"), "--numbers", "price", "pct", *FAST]) == 0
    typed = pd.read_parquet(tmp_path / "out.parquet")  # Parquet: exact decimals, cents
    assert typed["price"][~hidden].map(str).tolist() == price[~hidden].str.replace(r"[$,]", "", regex=True).tolist()


def test_numbers_that_are_not_written_one_way_are_refused_naming_one(tmp_path, capsys):
    src = tmp_path / "in.csv"
    pd.DataFrame({"x": np.arange(6.0), "price": ["$1", "$2", "3%", "$4", "$5", "$6"]}).to_csv(src, index=False)
    assert main(["impute", str(src), "-o", str(tmp_path / "o.csv"), "--numbers", "price", *FAST]) == 2
    assert "--numbers: column 'price' of" in capsys.readouterr().err
    assert main(["impute", str(src), "-o", str(tmp_path / "o.csv"), "--numbers", "nope", *FAST]) == 2
    assert "--numbers names a column not in" in capsys.readouterr().err


def _dates_table(tmp_path, fmt, day_at_most=28):
    rng = np.random.default_rng(1)
    when = pd.to_datetime({"year": rng.integers(2019, 2023, 200), "month": rng.integers(1, 13, 200),
                           "day": rng.integers(1, day_at_most + 1, 200)})
    text = pd.Series([f"{d.month}/{d.day}/{d:%y}" if fmt == "unpadded" else f"{d:{fmt}}" for d in when],
                     dtype=object)
    text[rng.random(200) < 0.25] = None
    df = pd.DataFrame({"x": (when - when.min()).dt.days / 100 + rng.normal(0, 0.2, 200), "when": text})
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    return src, df, when


def test_dates_that_read_both_ways_need_a_date_order(tmp_path, capsys):
    # every day is 12 or below: 04/02/2021 is April 2 or 4 February, and a guess would silently
    # hand the model swapped dates
    src, df, when = _dates_table(tmp_path, "%d/%m/%Y", day_at_most=12)
    out = tmp_path / "out.parquet"
    assert main(["impute", str(src), "-o", str(out), "--dates", "when", *FAST]) == 2
    err = capsys.readouterr().err
    assert "reads as dates both month first and day first" in err and "--date-order day-first" in err
    assert main(["impute", str(src), "-o", str(out), "--dates", "when", "--date-order", "day-first", *FAST]) == 0
    got = pd.read_parquet(out)["when"]  # Parquet keeps them as dates: each observed one as written
    observed = df["when"].notna()
    assert (got[observed] == when[observed]).all() and got.notna().all()


def test_dates_without_leading_zeros_round_trip_as_written(tmp_path):
    src, df, when = _dates_table(tmp_path, "unpadded")  # 4/2/22: pandas' own guess misses it
    out = tmp_path / "out.csv"
    assert main(["impute", str(src), "-o", str(out), "--dates", "when", *FAST]) == 0
    got = pd.read_csv(out, dtype=str)["when"]
    observed = df["when"].notna()
    assert (got[observed] == df["when"][observed]).all()  # as written, not re-padded
    imputed = pd.to_datetime(got[~observed], format="%m/%d/%y")  # every one a date, month first
    assert (imputed >= when.min()).all() and (imputed <= when.max()).all()


def test_a_saved_model_knows_its_date_columns(tmp_path):
    # a model fitted with --dates reused on the next CSV of the same columns: the dates are text
    # again, and were refused as "held dates at fit but now holds strings" unless --dates came too
    src, df, when = _dates_table(tmp_path, "%d/%m/%Y")
    model, out = tmp_path / "m.vtm", tmp_path / "out.csv"
    assert main(["impute", str(src), "-o", str(out), "--dates", "when", "--save-model", str(model), *FAST]) == 0
    nxt = tmp_path / "next.csv"
    df.assign(when=df["when"].where(df.index % 2 == 0)).to_csv(nxt, index=False)  # more holes
    assert main(["impute", str(nxt), "-o", str(tmp_path / "next_out.csv"), "--model", str(model), "-q"]) == 0
    got = pd.read_csv(tmp_path / "next_out.csv", dtype=str)["when"]
    assert got.notna().all() and pd.to_datetime(got, format="%d/%m/%Y").notna().all()


def test_timestamps_whose_offset_changes_with_daylight_saving_read_and_write_back(tmp_path):
    rng = np.random.default_rng(0)
    when = pd.Timestamp("2021-01-01", tz="Europe/Paris") + pd.to_timedelta(rng.integers(0, 365 * 24, 300), unit="h")
    df = pd.DataFrame({"x": rng.normal(size=300), "when": [t.isoformat() for t in when]})  # +01:00 and +02:00
    df.loc[::5, "when"] = None
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    df.to_csv(src, index=False)
    assert main(["impute", str(src), "-o", str(out), "--dates", "when", *FAST]) == 0
    got = pd.read_csv(out, dtype=str)["when"]
    observed = df["when"].notna()
    assert (got[observed] == df["when"][observed]).all()
    assert got[~observed].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$").all()  # UTC, offset as written
    imputed = pd.to_datetime(got[~observed], utc=True)
    assert imputed.between(when.min(), when.max()).all()


def test_multiple_tables_write_observed_dates_as_they_came(tmp_path):
    src, df, _ = _dates_table(tmp_path, "%d/%m/%Y")  # days up to 28: reads one way only
    out = tmp_path / "out.csv"
    assert main(["impute", str(src), "-o", str(out), "--dates", "when", "--multiple", "2", *FAST]) == 0
    got = pd.read_csv(out, dtype=str)
    for i in range(3):
        table = got[got["imputation"] == str(i)].reset_index(drop=True)
        observed = df["when"].notna()
        assert (table["when"][observed] == df["when"][observed]).all()
        assert table["when"].isna().sum() == (0 if i else (~observed).sum())


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_and_tab_separated_files_read_as_columns(tmp_path, table, sep):
    src, df = table  # a spreadsheet's export in many locales: read with "," it is one text column
    semi = tmp_path / "semi.csv.gz"
    df.to_csv(semi, sep=sep, index=False)
    out = tmp_path / "out.csv"
    assert main(["impute", str(semi), "-o", str(out), "--drop", "id", *FAST]) == 0
    assert sep in out.read_text().splitlines()[0]  # written back as it came
    got = pd.read_csv(out, sep=sep)
    assert list(got.columns) == list(df.columns) and not got[["a", "b", "kind"]].isna().any().any()


def test_decimal_commas_read_as_numbers_and_are_written_back(tmp_path, table):
    # a spreadsheet's export where the comma is the decimal mark: "1,5" read as text made the
    # numeric columns look like IDs and the run fail
    src, df = table
    eu = tmp_path / "eu.csv"
    df.to_csv(eu, sep=";", decimal=",", index=False)
    assert "," in eu.read_text().splitlines()[1]
    out = tmp_path / "out.csv"
    assert main(["impute", str(eu), "-o", str(out), "--drop", "id", *FAST]) == 0
    got = pd.read_csv(out, sep=";", decimal=",")
    assert got["a"].dtype == np.float64 and not got[["a", "b", "kind"]].isna().any().any()
    observed = df["a"].notna()
    np.testing.assert_allclose(got.loc[observed, "a"], df.loc[observed, "a"])
    np.testing.assert_allclose(got["b"], df["b"])


def test_points_stay_decimal_marks_beside_semicolons(tmp_path):
    from vaetools.cli import CSVStyle, csv_style

    path = tmp_path / "t.csv"
    path.write_text("x;y;code\n1.5;2;1,2\n2.5;3;3,4\n")  # "1,2" beside 1.5: a code, not a number
    assert csv_style(path) == CSVStyle(";", ".")
    path.write_text("x;y\n1,5;2\n;3\n")
    assert csv_style(path) == CSVStyle(";", ",")
    path.write_text("x,y\n1.5,2\n")
    assert csv_style(path) == CSVStyle()
    path.write_text("price;n\n1.234,5;2\n17,25;3\n")  # points group thousands beside decimal commas
    assert csv_style(path) == CSVStyle(";", ",", ".")
    from vaetools.cli import read_table

    assert read_table(path)["price"].tolist() == [1234.5, 17.25]


def test_a_one_column_decimal_comma_csv_reads_as_numbers_and_extra_fields_are_refused(tmp_path, capsys):
    # one column, no separator in its header: "-0,118" read with commas as two fields, and
    # pandas took the first for a row label: the column held 118, 503 under labels -0 and 0
    from vaetools.cli import CSVStyle, csv_style, read_table

    path = tmp_path / "one.csv"
    path.write_text("price\n-0,118\n0,503\n\n12,5\n")
    assert csv_style(path) == CSVStyle(";", ",")
    assert read_table(path)["price"].tolist() == [-0.118, 0.503, 12.5]
    assert main(["impute", str(path), "-o", str(tmp_path / "out.csv"), *FAST]) == 0
    assert (tmp_path / "out.csv").read_text().splitlines() == ["price", "-0,118", "0,503", "12,5"]
    path.write_text('price\n""\n$1,971.69\n$1,665.81\n')  # a ;-separated export: its commas unquoted
    assert csv_style(path) == CSVStyle(";", ".")
    assert read_table(path)["price"].tolist()[1:] == ["$1,971.69", "$1,665.81"]  # for --numbers to read
    path.write_text("price\n1.5\n2.5\n")  # no comma anywhere: as ever
    assert csv_style(path) == CSVStyle()
    extra = tmp_path / "extra.csv"
    extra.write_text("a,b\n1,2,3\n4,5,6\n")
    assert main(["impute", str(extra), "-o", str(tmp_path / "x.csv"), *FAST]) == 2
    assert "its rows have more fields than its header (2 columns, separated by ',')" in capsys.readouterr().err


def test_multiple_imputations_in_long_format(tmp_path, table, capsys):
    # for people who pool analyses with Rubin's rules outside Python (R's mice reads this with
    # as.mids(x, .imp = "imputation", .id = "row")): the input, then M completed copies
    src, df = table
    out = tmp_path / "mi.parquet"
    assert main(["impute", str(src), "-o", str(out), "--drop", "id", "--multiple", "3", *FAST]) == 0
    got = pd.read_parquet(out)
    assert list(got.columns) == ["imputation", "row", *df.columns] and len(got) == 4 * len(df)
    by = {i: g.drop(columns=["imputation"]).set_index("row") for i, g in got.groupby("imputation")}
    assert sorted(by) == [0, 1, 2, 3]
    from vaetools.cli import read_table

    pd.testing.assert_frame_equal(by[0].reset_index(drop=True), read_table(src))  # as the CLI reads it
    hidden = df["a"].isna().to_numpy()
    for i in (1, 2, 3):
        assert not by[i][["a", "b", "kind"]].isna().any().any()
        np.testing.assert_array_equal(by[i]["a"].to_numpy()[~hidden], df["a"].to_numpy()[~hidden])
        assert (by[i]["id"].to_numpy() == df["id"].to_numpy()).all()
    draws = np.stack([by[i]["a"].to_numpy()[hidden] for i in (1, 2, 3)])
    assert (draws.std(0) > 0).all()  # the copies differ where cells were missing
    assert "drew 3 completed tables" in capsys.readouterr().err
    # the same seed draws the same tables
    again = tmp_path / "again.parquet"
    assert main(["impute", str(src), "-o", str(again), "--drop", "id", "--multiple", "3", *FAST]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(again), got)


def test_multiple_refuses_inputs_that_already_have_its_columns(tmp_path, table, capsys):
    src, df = table
    clash = tmp_path / "clash.csv"
    df.rename(columns={"b": "row"}).to_csv(clash, index=False)
    assert main(["impute", str(clash), "-o", str(tmp_path / "o.csv"), "--drop", "id", "--multiple", "2", *FAST]) == 2
    assert "rename them first" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["impute", str(src), "-o", str(tmp_path / "o.csv"), "--multiple", "0"])
    assert "at least 1" in capsys.readouterr().err


def test_info_describes_a_saved_model(tmp_path, table, capsys):
    src, df = table
    model = tmp_path / "model.vtm"
    assert main(["impute", str(src), "-o", str(tmp_path / "o.csv"), "--drop", "id", "--save-model", str(model),
                 *FAST]) == 0
    capsys.readouterr()
    assert main(["info", str(model)]) == 0
    out = capsys.readouterr().out
    assert "saved VAEImputer (format version" in out
    assert "columns 3: 2 continuous, 1 binary" in out and "kind" in out
    assert "trained 20 epochs" in out and "spread fitted to unseen cells" in out
    # a file that is neither: named, without numpy's advice to load it unsafely as a pickle
    assert main(["info", str(src)]) == 2
    err = capsys.readouterr().err
    assert "is not a vaetools .vtz file nor a saved model" in err and "pickle" not in err


def test_a_file_of_headers_only_is_named(tmp_path, capsys):
    src = tmp_path / "empty.csv"
    src.write_text("a,b\n")
    assert main(["impute", str(src), "-o", str(tmp_path / "out.csv"), *FAST]) == 2
    assert "empty.csv has columns but no rows" in capsys.readouterr().err


def test_console_entry_point_runs(tmp_path, table):
    src, _ = table
    out = tmp_path / "o.csv"
    proc = subprocess.run([sys.executable, "-m", "vaetools", "impute", str(src), "-o", str(out), "--drop", "id",
                           "--epochs", "5", "--imputation-draws", "5"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "epoch" in proc.stderr and out.exists()


def test_parquet_decimals_are_imputed_as_numbers_and_written_back_as_decimals(tmp_path):
    # data warehouses write NUMERIC columns as Parquet decimal128, which pandas reads as Decimal
    # objects: taken for categories they were refused as an ID
    import decimal

    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    prices = [None if i % 7 == 0 else decimal.Decimal(f"{100 + 20 * v:.2f}") for i, v in enumerate(x)]
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    kinds = pa.array([None if i % 5 == 0 else "ab"[i % 2] for i in range(300)]).dictionary_encode()
    pq.write_table(pa.table({"x": x, "price": pa.array(prices, type=pa.decimal128(10, 2)), "kind": kinds}), src)
    assert main(["impute", str(src), "-o", str(out), *FAST]) == 0
    got = pd.read_parquet(out)["price"]
    assert pq.read_schema(out).remove_metadata() == pq.read_schema(src).remove_metadata()  # the input's types
    seen = np.array([p is not None for p in prices])
    assert list(got[seen]) == [p for p in prices if p is not None]  # exactly as they were
    imputed = got[~seen]
    assert all(isinstance(v, decimal.Decimal) and v.as_tuple().exponent == -2 for v in imputed)
    truth = 100 + 20 * x[~seen]
    assert np.abs(imputed.astype(float).to_numpy() - truth).mean() < 10  # the column's sd is 20


def test_parquet_dates_are_imputed_as_dates_and_written_back_as_dates(tmp_path):
    # Parquet's date32, which pandas reads as datetime.date objects: taken for categories they
    # imputed only dates already seen, in no order
    import datetime

    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    days = rng.integers(0, 900, 300)
    dates = [None if i % 6 == 0 else datetime.date(2020, 1, 1) + datetime.timedelta(days=int(d))
             for i, d in enumerate(days)]
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pq.write_table(pa.table({"x": days / 100 + rng.normal(0, 0.2, 300), "day": pa.array(dates, type=pa.date32())}), src)
    assert main(["impute", str(src), "-o", str(out), *FAST]) == 0
    assert pq.read_schema(out).field("day").type == pa.date32()
    got = pd.read_parquet(out)["day"]
    seen = np.array([d is not None for d in dates])
    assert list(got[seen]) == [d for d in dates if d is not None]
    truth = pd.Timestamp("2020-01-01") + pd.to_timedelta(days[~seen], unit="D")
    off_by = (pd.to_datetime(got[~seen]).to_numpy() - truth.to_numpy()) / np.timedelta64(1, "D")
    assert np.abs(off_by).mean() < 60  # days; the column's median is ~225 days off


def test_a_parquet_list_column_is_refused_with_the_flag_that_passes_it_through(tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    x[::5] = np.nan
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pq.write_table(pa.table({"x": x, "y": x * 2, "tags": [[int(i % 3), 1] for i in range(200)]}), src)
    assert main(["impute", str(src), "-o", str(out), *FAST]) == 2
    err = capsys.readouterr().err
    assert "column 'tags' holds values of type ndarray" in err and "to pass it through untouched, add --drop tags" in err
    assert main(["impute", str(src), "-o", str(out), "--drop", "tags", *FAST]) == 0
    got = pd.read_parquet(out)
    assert [list(v) for v in got["tags"]] == [[i % 3, 1] for i in range(200)] and got["x"].notna().all()
    assert main(["compress", str(src), "-o", str(tmp_path / "t.vtz"), "--epochs", "2", "-q"]) == 2
    assert "a .vtz file cannot store it as it is" in capsys.readouterr().err
