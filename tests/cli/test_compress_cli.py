"""``vaetools compress | decompress | info``."""

import numpy as np
import pandas as pd
import pytest

from vaetools.cli import main


@pytest.fixture
def csv(tmp_path):
    rng = np.random.default_rng(0)
    t = rng.normal(size=300)
    df = pd.DataFrame({"a": t * 5, "b": t + rng.normal(size=300) * 0.1, "c": np.where(t > 0, "p", "n")})
    df.loc[::7, "b"] = np.nan
    path = tmp_path / "in.csv"
    df.to_csv(path, index=False)
    return path, df


def test_compress_info_decompress(tmp_path, csv, capsys):
    src, df = csv
    vtz = tmp_path / "t.vtz"
    assert main(["compress", str(src), "-o", str(vtz), "--error-bound", "0.01", "--epochs", "20", "-q",
                 "--autoregressive", "on"]) == 0
    size = vtz.stat().st_size
    ratio = src.stat().st_size / size
    assert (f"{ratio:.2f}x smaller than in.csv" if ratio >= 1 else f"{1 / ratio:.2f}x larger than in.csv") \
        in capsys.readouterr().err
    assert main(["info", str(vtz)]) == 0
    out = capsys.readouterr().out
    assert "rows 300, columns 3" in out and "bits per value" in out and "a: " in out
    assert "columns conditioned on earlier columns" in out
    assert "latent codes" in out and all(f"\n  {c} " in out for c in df.columns)  # bytes by column
    back = tmp_path / "back.csv"
    assert main(["decompress", str(vtz), "-o", str(back)]) == 0
    got = pd.read_csv(back)
    assert (got["c"] == df["c"]).all() and (got["b"].isna() == df["b"].isna()).all()
    assert ((got["a"] - df["a"]).abs() <= 0.01 * (df["a"].max() - df["a"].min())).all()
    part = tmp_path / "part.csv"
    assert main(["decompress", str(vtz), "-o", str(part), "--rows", "10:20"]) == 0
    assert len(pd.read_csv(part)) == 10


def test_compress_guarantees_one_percent_unless_told_none(tmp_path, csv):
    src, df = csv
    span = df["a"].max() - df["a"].min()
    assert main(["compress", str(src), "-o", str(tmp_path / "d.vtz"), "--epochs", "5", "-q"]) == 0
    assert main(["decompress", str(tmp_path / "d.vtz"), "-o", str(tmp_path / "d.csv")]) == 0
    assert ((pd.read_csv(tmp_path / "d.csv")["a"] - df["a"]).abs() <= 0.01 * span).all()
    assert main(["compress", str(src), "-o", str(tmp_path / "n.vtz"), "--epochs", "5", "-q",
                 "--error-bound", "None"]) == 0
    assert main(["decompress", str(tmp_path / "n.vtz"), "-o", str(tmp_path / "n.csv")]) == 0
    # five epochs, no guarantee: the values are the model's rough estimate
    assert ((pd.read_csv(tmp_path / "n.csv")["a"] - df["a"]).abs() > 0.01 * span).any()


@pytest.mark.parametrize("argv,message", [
    (["compress", "{src}", "-o", "{tmp}/t.zip"], "use the .vtz extension"),
    (["compress", "{src}", "-o", "{tmp}/t.vtz", "--error-bound", "lots"], "--error-bound"),
    (["compress", "{src}", "-o", "{tmp}/t.vtz", "--error-bound", "-1", "--epochs", "2"], "positive"),
    (["compress", "{src}", "-o", "{tmp}/t.vtz", "--column-types", "x", "--epochs", "2"], "column=kind pairs"),
    (["decompress", "{src}", "-o", "{tmp}/x.csv"], "not a vaetools .vtz file"),
    (["info", "{src}"], "not a vaetools .vtz file"),
])
def test_errors_are_one_line(tmp_path, csv, capsys, argv, message):
    src, _ = csv
    args = [a.format(src=src, tmp=tmp_path) for a in argv]
    assert main(args + (["-q"] if args[0] == "compress" else [])) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_saved_model_compresses_another_table_without_fitting(tmp_path, csv, capsys):
    src, df = csv
    model = tmp_path / "m.vtm"
    assert main(["compress", str(src), "-o", str(tmp_path / "a.vtz"), "--epochs", "5", "-q",
                 "--save-model", str(model)]) == 0
    later = tmp_path / "later.csv"
    df.iloc[::-1].to_csv(later, index=False)  # new rows, same columns
    capsys.readouterr()
    assert main(["compress", str(later), "-o", str(tmp_path / "b.vtz"), "--model", str(model)]) == 0
    assert "fitting" not in capsys.readouterr().err
    span = df["a"].max() - df["a"].min()
    assert main(["decompress", str(tmp_path / "b.vtz"), "-o", str(tmp_path / "b.csv")]) == 0
    got = pd.read_csv(tmp_path / "b.csv")
    assert (got["c"] == df["c"].iloc[::-1].to_numpy()).all()
    assert ((got["a"] - df["a"].iloc[::-1].to_numpy()).abs() <= 0.01 * span).all()  # the fitted bound
    # a bound asked for at compress time is the one guaranteed
    assert main(["compress", str(later), "-o", str(tmp_path / "c.vtz"), "--model", str(model),
                 "--error-bound", "0.001"]) == 0
    assert main(["decompress", str(tmp_path / "c.vtz"), "-o", str(tmp_path / "c.csv")]) == 0
    got = pd.read_csv(tmp_path / "c.csv")
    assert ((got["a"] - df["a"].iloc[::-1].to_numpy()).abs() <= 0.001 * span).all()
    assert main(["compress", str(later), "-o", str(tmp_path / "d.vtz"), "--model", str(tmp_path / "nope.vtm")]) == 2
    assert "is not a saved vaetools estimator" in capsys.readouterr().err


def test_id_columns_are_refused_with_the_flag_that_keeps_them_and_kept_with_it(tmp_path, csv, capsys):
    src, df = csv
    df = df.assign(id=[f"r{i}" for i in range(len(df))], **{"free note": [f"called {i * 7} times" for i in range(len(df))]})
    path = tmp_path / "ids.csv"
    df.to_csv(path, index=False)
    vtz = tmp_path / "t.vtz"
    assert main(["compress", str(path), "-o", str(vtz), "--epochs", "2", "-q"]) == 2
    err = capsys.readouterr().err  # both at once: a run per column was one too many
    assert "2 columns cannot be modelled" in err and "add --passthrough id 'free note'" in err
    assert "passthrough=[" not in err and "Traceback" not in err
    assert main(["compress", str(path), "-o", str(vtz), "--epochs", "2", "-q", "--passthrough", "id", "free note"]) == 0
    capsys.readouterr()
    assert main(["info", str(vtz)]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")}
    assert lines["id"].endswith("stored as it is") and lines["a"].endswith("continuous")
    assert lines["c"].endswith("binary")
    assert main(["decompress", str(vtz), "-o", str(tmp_path / "back.csv")]) == 0
    back = pd.read_csv(tmp_path / "back.csv")
    assert list(back.columns) == list(df.columns) and (back["id"] == df["id"]).all()
    assert main(["compress", str(path), "-o", str(tmp_path / "u.vtz"), "--passthrough", "nope", "-q"]) == 2
    assert "--passthrough names columns not in" in capsys.readouterr().err
    # the imputer's way to keep it is --drop
    assert main(["impute", str(path), "-o", str(tmp_path / "f.csv"), "--epochs", "2", "-q"]) == 2
    assert "add --drop id 'free note'" in capsys.readouterr().err


def test_info_shows_the_bytes_of_a_kept_index(tmp_path, capsys):
    from vaetools import compress

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=200), "k": rng.choice(["a", "b"], 200)},
                      index=pd.Index([f"id{i}" for i in range(200)], name="key"))
    compress(df, tmp_path / "t.vtz", error_bound=0.01, max_epochs=2, random_state=0)
    assert main(["info", str(tmp_path / "t.vtz")]) == 0
    assert "row labels (the index) " in capsys.readouterr().out
    assert main(["decompress", str(tmp_path / "t.vtz"), "-o", str(tmp_path / "back.csv")]) == 0
    back = pd.read_csv(tmp_path / "back.csv")  # the labels are written, as the first column
    assert list(back.columns) == ["key", "x", "k"] and (back["key"] == df.index).all()


def test_a_decimal_comma_csv_decompresses_as_it_came(tmp_path, csv, capsys):
    """A spreadsheet's export (semicolons, decimal commas) comes back in its own style: the
    file keeps the style, and --sep / --decimal choose another."""
    _, df = csv
    df = df.assign(price=(df["a"] * 100 + 1000).round(2))  # plain numbers: coded as whole cents
    eu = tmp_path / "eu.csv"
    df.to_csv(eu, sep=";", decimal=",", index=False)
    vtz = tmp_path / "t.vtz"
    assert main(["compress", str(eu), "-o", str(vtz), "--epochs", "5", "-q"]) == 0
    assert main(["info", str(vtz)]) == 0
    assert "metadata vaetools.csv.sep: ';'" in capsys.readouterr().out
    back = tmp_path / "back.csv"
    assert main(["decompress", str(vtz), "-o", str(back)]) == 0
    lines = back.read_text().splitlines()
    assert lines[0] == "a;b;c;price" and "," in lines[1] and "." not in lines[1]
    got = pd.read_csv(back, sep=";", decimal=",")
    for c in ("a", "price"):
        assert ((got[c] - df[c]).abs() <= 0.01 * (df[c].max() - df[c].min()) + 1e-9).all()
    plain = tmp_path / "plain.csv"
    assert main(["decompress", str(vtz), "-o", str(plain), "--sep", ",", "--decimal", "."]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(plain), got)
    assert main(["decompress", str(vtz), "-o", str(tmp_path / "x.csv"), "--sep", ","]) == 2  # "1,5,2,5"
    assert "--sep and --decimal are both ','" in capsys.readouterr().err
    ordinary = tmp_path / "o.vtz"  # made from a comma CSV: written back with commas and points
    assert main(["compress", str(csv[0]), "-o", str(ordinary), "--epochs", "5", "-q"]) == 0
    assert main(["decompress", str(ordinary), "-o", str(tmp_path / "o.csv")]) == 0
    assert (tmp_path / "o.csv").read_text().splitlines()[0] == "a,b,c"


def test_text_dates_compress_as_dates_within_a_duration_bound(tmp_path, capsys):
    rng = np.random.default_rng(0)
    days = rng.integers(0, 900, 300)
    when = pd.Timestamp("2020-01-01") + pd.to_timedelta(days, unit="D")
    df = pd.DataFrame({"x": days / 100 + rng.normal(0, 0.2, 300), "when": when.strftime("%d/%m/%Y")})
    df.loc[rng.random(300) < 0.2, "when"] = None
    src, vtz, out = tmp_path / "in.csv", tmp_path / "t.vtz", tmp_path / "out.csv"
    df.to_csv(src, index=False)
    fast = ["--epochs", "10", "-q"]
    assert main(["compress", str(src), "-o", str(vtz), *fast]) == 2
    assert "to model it as dates or times, add --dates when; to keep it in the file as it is, add --passthrough when" \
        in capsys.readouterr().err
    assert main(["compress", str(src), "-o", str(vtz), "--dates", "when", "--error-mode", "absolute",
                 "--error-bound", "when=3 days,x=0.05", *fast]) == 0
    assert main(["info", str(vtz)]) == 0
    assert "when: 3 days 00:00:00" in capsys.readouterr().out
    assert main(["decompress", str(vtz), "-o", str(out)]) == 0
    back = pd.read_csv(out)
    seen = df["when"].notna()
    assert back["when"].isna().equals(~seen)  # missing cells where they were
    decoded = pd.to_datetime(back["when"][seen], format="%d/%m/%Y")  # in the input's format
    assert (decoded - when[seen]).abs().max() <= pd.Timedelta(days=3)
    assert main(["decompress", str(vtz), "-o", str(tmp_path / "out.parquet")]) == 0  # Parquet: typed
    assert pd.read_parquet(tmp_path / "out.parquet")["when"].dtype.kind == "M"
    assert main(["compress", str(src), "-o", str(tmp_path / "u.vtz"), "--dates", "when", "--error-mode",
                 "absolute", "--error-bound", "when=3,x=0.05", *fast]) == 2
    assert "must be a duration in absolute mode" in capsys.readouterr().err


def test_text_times_and_dates_with_milliseconds_come_back_with_their_digits(tmp_path):
    # %f writes six digits: 14:55:02.869 came back from decompress as 14:55:02.869000
    rng = np.random.default_rng(0)
    ms = rng.integers(6 * 3600 * 1000, 20 * 3600 * 1000, 300)
    clock = pd.Series([f"{m // 3600000:02d}:{m // 60000 % 60:02d}:{m // 1000 % 60:02d}.{m % 1000:03d}"
                       for m in ms], dtype=object)
    clock[rng.random(300) < 0.2] = None
    stamp = ("2021-03-01 " + clock).where(clock.notna(), None)
    src, vtz, out, filled = tmp_path / "in.csv", tmp_path / "t.vtz", tmp_path / "out.csv", tmp_path / "f.csv"
    pd.DataFrame({"x": ms / 3.6e6 + rng.normal(0, 0.3, 300), "at": clock, "when": stamp}).to_csv(src, index=False)
    assert main(["compress", str(src), "-o", str(vtz), "--dates", "at", "when", "--error-mode", "absolute",
                 "--error-bound", "at=0.4ms,when=0.4ms,x=0.05", "--epochs", "5", "-q"]) == 0
    assert main(["decompress", str(vtz), "-o", str(out)]) == 0
    back, given = pd.read_csv(out, dtype=str), pd.read_csv(src, dtype=str)
    assert back["at"].equals(given["at"]) and back["when"].equals(given["when"])
    assert main(["impute", str(src), "-o", str(filled), "--dates", "at", "when", "--epochs", "5", "-q"]) == 0
    imputed = pd.read_csv(filled, dtype=str)
    assert imputed["at"].str.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}").all()
    assert imputed["when"].str.fullmatch(r"2021-03-01 \d\d:\d\d:\d\d\.\d{3}").all()


def test_text_times_of_day_compress_within_a_duration_bound(tmp_path, capsys):
    rng = np.random.default_rng(0)
    minutes = rng.integers(6 * 60, 20 * 60, 300)
    clock = pd.Series([f"{m // 60}:{m % 60:02d}" for m in minutes], dtype=object)  # 9:05, no leading zero
    clock[rng.random(300) < 0.2] = None
    src, vtz, out = tmp_path / "in.csv", tmp_path / "t.vtz", tmp_path / "out.csv"
    pd.DataFrame({"x": minutes / 60 + rng.normal(0, 0.3, 300), "at": clock}).to_csv(src, index=False)
    assert main(["compress", str(src), "-o", str(vtz), "--dates", "at", "--error-mode", "absolute",
                 "--error-bound", "at=10min,x=0.05", "--epochs", "10", "-q"]) == 0
    assert main(["info", str(vtz)]) == 0
    assert "times of day in steps of a minute" in capsys.readouterr().out
    assert main(["decompress", str(vtz), "-o", str(out)]) == 0
    back = pd.read_csv(out, dtype=str)["at"]
    seen = clock.notna()
    assert back.isna().equals(~seen)
    assert back[seen].str.fullmatch(r"\d\d:\d\d").all()  # %H:%M
    decoded = pd.to_timedelta(back[seen] + ":00").dt.total_seconds().to_numpy() / 60
    assert np.abs(decoded - minutes[seen]).max() <= 10


def test_numbers_with_signs_compress_as_cents_and_decompress_written_as_they_came(tmp_path, capsys):
    # a decimal-comma CSV, as spreadsheets in many locales export it: 1.234,50 €
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    euros = np.round(np.exp(x + 7), 2)
    text = pd.Series([f"{v:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".") + " €" for v in euros],
                     dtype=object)
    text[rng.random(300) < 0.2] = None
    src, vtz, out = tmp_path / "in.csv", tmp_path / "t.vtz", tmp_path / "out.csv"
    pd.DataFrame({"x": [f"{v:.3f}".replace(".", ",") for v in x], "preis": text}).to_csv(src, index=False, sep=";")
    fast = ["--epochs", "10", "-q"]
    assert main(["compress", str(src), "-o", str(vtz), *fast]) == 2
    assert "to model it as numbers, add --numbers preis" in capsys.readouterr().err
    assert main(["compress", str(src), "-o", str(vtz), "--numbers", "preis", "--error-mode", "absolute",
                 "--error-bound", "preis=0.004,x=0.01", *fast]) == 0  # under half a cent: exact
    assert main(["decompress", str(vtz), "-o", str(out)]) == 0
    back = pd.read_csv(out, sep=";", dtype=str)["preis"]
    assert back.isna().equals(text.isna()) and (back[text.notna()] == text[text.notna()]).all()
    assert main(["compress", str(src), "-o", str(tmp_path / "r.vtz"), "--numbers", "preis", *fast]) == 0  # 1% of range
    assert main(["decompress", str(tmp_path / "r.vtz"), "-o", str(tmp_path / "r.csv")]) == 0
    back = pd.read_csv(tmp_path / "r.csv", sep=";", dtype=str)["preis"][text.notna()]
    assert back.str.fullmatch(r"\d{1,3}(\.\d{3})*,\d\d €").all()
    decoded = back.str.replace(r"[. €]", "", regex=True).str.replace(",", ".").astype(float)
    assert np.abs(decoded - euros[text.notna()]).max() <= 0.01 * (euros.max() - euros.min())


def test_a_csv_s_plain_numbers_compress_as_whole_units_and_decompress_with_their_places(tmp_path, capsys):
    # they were floats: a decompressed CSV had 0.15150251894355482 where the input had 0.126, and
    # no bound stored 1.080 exactly
    rng = np.random.default_rng(0)
    t = rng.normal(size=300)
    a = pd.Series([f"{v:.3f}" for v in t], dtype=object)
    a[::7] = None
    src, vtz = tmp_path / "in.csv", tmp_path / "t.vtz"
    pd.DataFrame({"a": a, "b": [f"{v:.1e}" for v in np.exp(t)]}).to_csv(src, index=False)  # b: not plain
    fast = ["--epochs", "10", "-q", "--overwrite"]
    assert main(["compress", str(src), "-o", str(vtz), "--error-mode", "absolute", "--error-bound", "a=0.0004,b=0.01",
                 "--save-model", str(tmp_path / "m.vtm"), *fast]) == 0
    assert main(["decompress", str(vtz), "-o", str(tmp_path / "out.csv"), "--overwrite"]) == 0
    back = pd.read_csv(tmp_path / "out.csv", dtype=str)
    assert back["a"].isna().equals(a.isna()) and (back["a"][a.notna()] == a[a.notna()]).all()  # exact, as written
    assert main(["compress", str(src), "-o", str(vtz), *fast]) == 0  # 1% of the range
    assert main(["decompress", str(vtz), "-o", str(tmp_path / "out.csv"), "--overwrite"]) == 0
    back = pd.read_csv(tmp_path / "out.csv", dtype=str)
    assert back["a"][a.notna()].str.fullmatch(r"-?\d\.\d{3}").all()  # with the column's places
    err = (back["a"][a.notna()].astype(float) - a[a.notna()].astype(float)).abs().max()
    assert err <= 0.01 * (t.max() - t.min())
    assert main(["decompress", str(vtz), "-o", str(tmp_path / "out.parquet"), "--overwrite"]) == 0
    assert pd.read_parquet(tmp_path / "out.parquet")["a"].dtype == "Float64"  # floats again in Parquet
    # a model fitted in whole units reads the column so again, and refuses it written otherwise
    assert main(["compress", str(src), "-o", str(vtz), "--model", str(tmp_path / "m.vtm"), "-q", "--overwrite"]) == 0
    assert main(["decompress", str(vtz), "-o", str(tmp_path / "again.csv"), "--overwrite"]) == 0
    assert (pd.read_csv(tmp_path / "again.csv", dtype=str)["a"][a.notna()] == a[a.notna()]).all()
    pd.DataFrame({"a": a.where(a.isna(), "1e-3"), "b": ["1.0e+00"] * 300}).to_csv(tmp_path / "odd.csv", index=False)
    assert main(["compress", str(tmp_path / "odd.csv"), "-o", str(vtz), "--model", str(tmp_path / "m.vtm"), "-q",
                 "--overwrite"]) == 2
    assert "column 'a' was fitted as numbers written plainly" in capsys.readouterr().err


def test_a_model_fitted_on_floats_keeps_reading_a_csv_s_numbers_as_floats(tmp_path):
    # a compressor fitted on floats (from Python, or by vaetools before whole units) must not be
    # handed the column in thousandths
    from vaetools import VAECompressor

    rng = np.random.default_rng(0)
    t = rng.normal(size=200)
    df = pd.DataFrame({"a": t.round(3), "b": (2 * t).round(2)})
    VAECompressor(max_epochs=5, random_state=0, error_bound=0.01).fit(df).save(tmp_path / "m.vtm")
    df.to_csv(tmp_path / "in.csv", index=False)
    vtz = tmp_path / "t.vtz"
    assert main(["compress", str(tmp_path / "in.csv"), "-o", str(vtz), "--model", str(tmp_path / "m.vtm"), "-q"]) == 0
    assert main(["decompress", str(vtz), "-o", str(tmp_path / "out.csv")]) == 0
    back = pd.read_csv(tmp_path / "out.csv")
    assert (back["a"] - df["a"]).abs().max() <= 0.01 * (t.max() - t.min()) * 1.0001


def test_parquet_decimals_compress_as_whole_cents_and_decompress_as_decimals(tmp_path, capsys):
    # coded as integers of their last place, a bound keeps them within it and one under half a
    # cent keeps them exact; decompress gives decimals again, not floats
    import decimal

    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    prices = [None if i % 7 == 0 else decimal.Decimal(f"{100 + 20 * v:.2f}") for i, v in enumerate(x)]
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"x": x, "price": pa.array(prices, type=pa.decimal128(10, 2))}), src)
    fast = ["--epochs", "5", "-q"]
    seen = [p is not None for p in prices]
    for bound, mode, most in [("0.01", "relative", None), ("price=0.004,x=0.01", "absolute", decimal.Decimal(0))]:
        vtz, back = tmp_path / f"{mode}.vtz", tmp_path / f"{mode}.parquet"
        assert main(["compress", str(src), "-o", str(vtz), "--error-mode", mode, "--error-bound", bound, *fast]) == 0
        assert main(["decompress", str(vtz), "-o", str(back)]) == 0
        got = pd.read_parquet(back)["price"]
        assert pq.read_schema(back).field("price").type.scale == 2
        assert [g is None for g in got] == [not s for s in seen]  # missing cells where they were
        errors = [abs(g - p) for g, p in zip(got, prices) if p is not None]
        assert all(isinstance(g, decimal.Decimal) for g in got if g is not None)
        capsys.readouterr()
        assert main(["info", str(vtz)]) == 0
        out = capsys.readouterr().out
        bounds = next(line for line in out.splitlines() if line.startswith("error bounds:"))
        stated = decimal.Decimal(bounds.split("price: ")[1].split(",")[0])
        assert max(errors) <= (stated if most is None else most)  # within the bound info states; exact
        assert "integer: decimals with 2 places, in whole units of 0.01" in out
    # one absolute bound is in each column's own numbers: half a dollar for the prices
    assert main(["compress", str(src), "-o", str(tmp_path / "u.vtz"), "--error-mode", "absolute",
                 "--error-bound", "0.5", *fast]) == 0
    assert main(["decompress", str(tmp_path / "u.vtz"), "-o", str(tmp_path / "u.parquet")]) == 0
    got = pd.read_parquet(tmp_path / "u.parquet")["price"]
    assert max(abs(g - p) for g, p in zip(got, prices) if p is not None) <= decimal.Decimal("0.5")


def test_decimals_are_written_to_csv_in_fixed_point_with_the_csv_decimal_mark(tmp_path):
    import decimal

    from vaetools.cli import CSVStyle, write_table

    df = pd.DataFrame({"d": [decimal.Decimal(1).scaleb(-9), decimal.Decimal("-12.50"), None], "x": [1.5, 2.0, 3.0]})
    write_table(df, tmp_path / "eu.csv", overwrite=False, style=CSVStyle(";", ","))
    assert (tmp_path / "eu.csv").read_text().splitlines() == ["d;x", "0,000000001;1,5", "-12,50;2,0", ";3,0"]
    assert df["d"][0] == decimal.Decimal("1E-9")  # the caller's frame is left as it was


def test_a_saved_model_reads_the_next_csv_in_the_places_it_was_fitted_on(tmp_path, capsys):
    # the next month's file may write fewer places (1.5 for 1.50): a model saved with
    # --save-model keeps the column's places, so its values are read in the units it learned
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    first, nxt = tmp_path / "first.csv", tmp_path / "next.csv"
    pd.DataFrame({"x": x, "price": (100 + 20 * x).round(3)}).to_csv(first, index=False)
    nxt.write_text("x,price\n" + "".join(f"{v:.4f},{100 + 20 * v:.2f}\n" for v in x[:200]))
    fast = ["--epochs", "5", "-q", "--error-mode", "absolute", "--error-bound", "price=0.0004,x=0.01"]
    assert main(["compress", str(first), "-o", str(tmp_path / "a.vtz"), "--save-model", str(tmp_path / "m.vtm"),
                 *fast]) == 0
    assert main(["compress", str(nxt), "-o", str(tmp_path / "b.vtz"), "--model", str(tmp_path / "m.vtm")]) == 0
    assert main(["decompress", str(tmp_path / "b.vtz"), "-o", str(tmp_path / "b.csv")]) == 0
    got = pd.read_csv(tmp_path / "b.csv", dtype=str)["price"]
    want = pd.read_csv(nxt, dtype=str)["price"]
    assert (got.astype(float) == want.astype(float)).all()  # exact under half a thousandth
    assert got.str.split(".").str[1].str.len().eq(3).all()  # in the fitted places: 101.500
    more = tmp_path / "more.csv"
    more.write_text("x,price\n0.5,110.1234\n0.1,102.0\n")
    capsys.readouterr()
    assert main(["compress", str(more), "-o", str(tmp_path / "c.vtz"), "--model", str(tmp_path / "m.vtm")]) == 2
    assert "column 'price' holds 110.1234 with more than the 3 decimal places it had at fit" in capsys.readouterr().err
    assert not (tmp_path / "c.vtz").exists()


def test_files_whose_decimals_the_command_line_coded_in_units_still_decompress_as_decimals(tmp_path):
    # format 10 files: the command line coded decimals as Int64 cents and said so in the metadata
    from vaetools.compress import compress

    df = pd.DataFrame({"x": np.arange(50) / 7, "price": pd.array(np.arange(50) * 37 + 1000, dtype="Int64")})
    compress(df, tmp_path / "old.vtz", error_bound={"price": 0.4, "x": 0.01}, error_mode="absolute",
             metadata={"vaetools.decimal_places.price": "2"}, max_epochs=5, random_state=0)
    assert main(["decompress", str(tmp_path / "old.vtz"), "-o", str(tmp_path / "old.csv")]) == 0
    got = pd.read_csv(tmp_path / "old.csv", dtype=str)["price"]
    assert got.tolist() == [f"{(i * 37 + 1000) / 100:.2f}" for i in range(50)]
