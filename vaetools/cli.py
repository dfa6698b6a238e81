"""The ``vaetools`` command line: impute, compress, decompress, info."""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vaetools._files import write_atomically

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
NA_HELP = ("more values that mark a missing cell, e.g. --na-values '?' -999 (empty fields, NA, N/A, "
           "null and NaN already do)")
NUMBERS_HELP = ("columns of numbers written with a currency or percent sign or grouped thousands ($1,234.50, "
                "51.3%%, 1.234,50 €), read as numbers; a CSV gets them back written the same way")


@dataclass(frozen=True)
class CSVStyle:
    """How a CSV separates fields and writes decimals. ``impute`` writes its output in its
    input's style, so that a spreadsheet that exported the table reads the result back."""
    sep: str = ","
    decimal: str = "."
    thousands: str | None = None  # read only: 1.234,5; written without


# where a .vtz written from a CSV keeps that CSV's style (compress's metadata), so that
# decompress writes the table back as it came
STYLE_KEYS = {"sep": "vaetools.csv.sep", "decimal": "vaetools.csv.decimal"}
# and each --dates column's format (strftime), under this prefix and the column's name
DATE_FORMAT_KEY = "vaetools.csv.date_format."
# a decimal column compress coded as whole units of its last place (cents): its places, under
# this prefix and the column's name, for decompress to give decimals back
DECIMAL_PLACES_KEY = "vaetools.decimal_places."
# a CSV's float column compress coded as a decimal of its places (from its text), for decompress
# to give a Parquet file floats again; a CSV gets the decimals, written with those places
CSV_FLOAT_KEY = "vaetools.csv.float."
# and each --numbers column's way of writing them (``NumberText.to_json``), for decompress to
# write a CSV's $1,234.50 as it came
NUMBER_TEXT_KEY = "vaetools.csv.number_text."
_SEPARATORS, _DECIMALS = (",", ";", "\t", "|"), (".", ",")

# a number with a decimal comma, as spreadsheets in many locales write it: 179,4 or -0,5e3
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+(?:[eE][+-]?\d+)?$")
_DECIMAL_POINT = re.compile(r"^[+-]?\d*\.\d+(?:[eE][+-]?\d+)?$")
# with a decimal comma, points group thousands: 1.234,5 or 12.345.678
_THOUSANDS_POINT = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+(?:,\d+)?$")


class CLIError(Exception):
    """A problem with the user's input: printed as one line, exit status 2."""


def _format_of(path: Path, what: str) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-2:-1] == [".csv"] and suffixes[-1] in (".gz", ".bz2", ".zip", ".xz", ".zst"):
        return "csv"
    fmt = READERS.get(path.suffix.lower())
    if fmt is None:
        raise CLIError(f"{what} {path}: unknown extension {path.suffix!r}; use .csv (optionally "
                       f".csv.gz) or .parquet")
    return fmt


def read_table(path: Path, na_values: list[str] | None = None, style: CSVStyle | None = None):
    """The table at ``path`` with pandas' nullable dtypes, so that an integer column with empty
    fields stays integer (Int64) and is written back as 3, not 3.0. ``na_values``: more strings
    that mark a missing cell (pandas' readers already take "", NA, N/A, null, NaN, ...). A CSV
    is read in ``style``, by default its own (``csv_style``)."""
    import pandas as pd

    fmt = _format_of(path, "input")
    if not path.exists():
        raise CLIError(f"input {path} does not exist")
    na_values = list(na_values or [])
    try:
        if fmt == "csv":
            style = style or csv_style(path)
            df = pd.read_csv(path, na_values=na_values, dtype_backend="numpy_nullable", sep=style.sep,
                             decimal=style.decimal, thousands=style.thousands)
        else:
            df = pd.read_parquet(path, dtype_backend="numpy_nullable")
    except ImportError as exc:
        raise CLIError(f"reading Parquet needs pyarrow: pip install pyarrow ({exc})") from None
    except Exception as exc:  # parse errors of every kind: report, do not trace back
        raise CLIError(f"could not read {path}: {exc}") from None
    if len(df) == 0:
        raise CLIError(f"{path} has columns but no rows")
    return df if fmt == "csv" else _mark_missing(df, na_values)


def csv_style(path: Path, sample_lines: int = 200) -> CSVStyle:
    """The CSV's field separator and decimal mark, from its first lines. The separator is a
    comma unless the first line has none and holds semicolons, tabs or bars (a spreadsheet's
    export in many locales), which would read as one column of text. With another separator
    than the comma, the decimal mark is a comma when the sampled fields hold numbers written
    with one (179,4) and none written with a point; read with a point, such columns were text,
    and refused as IDs. Points then group thousands where fields show it (1.234,5)."""
    import pandas as pd

    try:
        with pd.io.common.get_handle(path, "r", compression="infer", errors="replace") as handle:
            lines = [line for _, line in zip(range(sample_lines), handle.handle)]
    except Exception:  # unreadable: read_csv reports it
        return CSVStyle()
    first = lines[0] if lines else ""
    if "," in first:
        return CSVStyle()
    counts = {sep: first.count(sep) for sep in (";", "\t", "|")}
    sep = max(counts, key=counts.get)
    if not counts[sep]:
        return CSVStyle()
    fields = [f.strip().strip('"') for line in lines[1:] for f in line.rstrip("\r\n").split(sep)]
    grouped = {f for f in fields if _THOUSANDS_POINT.match(f)}
    comma = any("," in f for f in grouped) or any(_DECIMAL_COMMA.match(f) for f in fields)
    point = any(_DECIMAL_POINT.match(f) for f in fields if f not in grouped)
    if comma and not point:
        return CSVStyle(sep, ",", "." if grouped else None)
    return CSVStyle(sep, ".")


def _input_style(src: Path) -> CSVStyle | None:
    """The style of an input CSV (``csv_style``); None for Parquet."""
    return csv_style(src) if _format_of(src, "input") == "csv" else None


def _mark_missing(df, tokens: list[str]):
    """Cells equal to one of ``tokens`` set missing: as text in text columns, as numbers in
    numeric columns where the token is one (-999), as read_csv's na_values does."""
    import pandas as pd

    if not tokens:
        return df
    numbers = []
    for t in tokens:
        try:
            numbers.append(float(t))
        except ValueError:
            pass
    out = df.copy()
    for j in range(df.shape[1]):
        col = df.iloc[:, j]
        if pd.api.types.is_bool_dtype(col.dtype):
            continue
        hit = col.isin(numbers) if pd.api.types.is_numeric_dtype(col.dtype) else col.astype(str).isin(tokens)
        if hit.any():
            out.isetitem(j, col.mask(hit.fillna(False).astype(bool)))
    return out


def check_destination(out: Path, inputs: list[Path], overwrite: bool) -> None:
    for src in inputs:
        if out.resolve() == src.resolve():
            raise CLIError(f"output {out} is the input file; choose another path (vaetools never "
                           "overwrites its input)")
    if out.exists() and not overwrite:
        raise CLIError(f"output {out} exists; pass --overwrite to replace it")
    if not out.parent.exists():
        raise CLIError(f"output folder {out.parent} does not exist")


def write_table(df, path: Path, overwrite: bool, index: bool = False, style: CSVStyle = CSVStyle(),
                arrow_types: dict | None = None) -> None:
    """Write ``df`` whole or not at all; an output that appeared during a long fit is kept
    unless ``overwrite``. ``index``: write the row labels too; ``style``: a CSV's.
    ``arrow_types``: Parquet types by column name (the input's), which columns are written in
    where they hold their values (decimal256(40, 3) rather than the decimal128(4, 3) pandas'
    values would give)."""
    fmt = _format_of(path, "output")

    def write(tmp: Path) -> None:
        if fmt == "csv":
            df.to_csv(tmp, index=index, sep=style.sep, decimal=style.decimal)
        elif not arrow_types:
            df.to_parquet(tmp, index=index)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=index)
            for i, name in enumerate(table.column_names):
                target = arrow_types.get(name)
                if target is not None and table.field(i).type != target:
                    try:
                        table = table.set_column(i, table.field(i).with_type(target), table.column(i).cast(target))
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                        pass  # as pandas gives it
            pq.write_table(table, tmp)

    try:
        write_atomically(path, write, overwrite)
    except ImportError as exc:
        raise CLIError(f"writing Parquet needs pyarrow: pip install pyarrow ({exc})") from None
    except FileExistsError:
        raise CLIError(f"output {path} appeared while vaetools was working; it is left as it is. "
                       "Pass --overwrite to replace it") from None


def _arrow_types(src: Path) -> dict | None:
    """A Parquet input's column types, for the output to keep; None for a CSV."""
    if _format_of(src, "input") != "parquet":
        return None
    import pyarrow.parquet as pq

    return {f.name: f.type for f in pq.read_schema(src)}


def cmd_impute(args) -> int:
    from vaetools import VAEImputer
    from vaetools.tabular.schema import NestedValuesError, UnmodelledColumnError

    src, out = Path(args.input), Path(args.output)
    _format_of(out, "output")
    check_destination(out, [src], args.overwrite)
    if args.save_model:
        check_destination(Path(args.save_model), [src, out], args.overwrite)
    style = _input_style(src)  # a CSV is read, and written back, in its own style
    df = read_table(src, args.na_values, style)
    saved = VAEImputer.load(args.model) if args.model else None
    dates_found = _parse_dates(df, _dates_to_parse(args.dates, saved, df), src, args.date_order)
    numbers_found = _parse_numbers(df, args.numbers, src, style)
    decimals, python_dates = _decimals_as_numbers(df), _dates_as_datetimes(df)
    if args.drop:
        unknown = [c for c in args.drop if c not in df.columns]
        if unknown:
            raise CLIError(f"--drop names columns not in {src}: {unknown}")
    if args.multiple:
        taken = [c for c in MULTIPLE_COLUMNS if c in df.columns]
        if taken:
            raise CLIError(f"--multiple adds columns {list(MULTIPLE_COLUMNS)}, but {src} has {taken}; "
                           "rename them first")
    # a column with no value has nothing to impute from or to: written back as it came (empty),
    # where the imputer would drop it from the output
    known = set(saved.fit_columns_) if saved is not None else set()  # a saved model imputes its own columns
    empty = [c for c in df.columns if c not in args.drop and c not in known and df[c].isna().all()]
    if empty:
        what = f"column {empty[0]!r} has" if len(empty) == 1 else f"columns {', '.join(map(repr, empty))} have"
        print(f"vaetools: {what} no value: written back empty", file=sys.stderr)
    drop = [*args.drop, *empty]
    data = df.drop(columns=drop) if drop else df
    if saved is not None:
        imputer = saved
        print(f"vaetools: loaded model {args.model}", file=sys.stderr)
    else:
        imputer = VAEImputer(latent_dim=args.latent_dim, max_epochs=args.epochs or "auto", n_draws=args.draws,
                             n_imputation_draws=args.imputation_draws, device=args.device,
                             column_types=_parse_column_types(args.column_types),
                             random_state=args.seed, verbose=0 if args.quiet else 1)
        n_missing = int(data.isna().sum().sum())
        print(f"vaetools: fitting on {len(data)} rows x {data.shape[1]} columns "
              f"({n_missing} missing cells)", file=sys.stderr)
        try:
            imputer.fit(data)
        except NestedValuesError as exc:
            raise CLIError(f"{exc.reason}; to pass it through untouched, add --drop {_words([exc.column])}") from None
        except UnmodelledColumnError as exc:
            others = [c for c in exc.columns if c not in exc.date_columns + exc.number_columns] or exc.columns
            raise CLIError(f"{exc.reason}; {_parse_advice(exc, 'impute')}to pass {_them(others)} through "
                           f"untouched, add --drop {_words(others)}") from None
    if args.multiple:
        tables = imputer.multiple_imputations(data, m=args.multiple, random_state=args.seed)
        filled = _stacked(df, [_with_dropped(t, df, drop) for t in tables])
        print(f"vaetools: drew {args.multiple} completed tables", file=sys.stderr)
    else:
        filled = _with_dropped(imputer.transform(data), df, drop)
    rows = filled[MULTIPLE_COLUMNS[1]].to_numpy() if args.multiple else None
    filled = _datetimes_as_dates(_numbers_as_decimals(filled, decimals, rows), python_dates, rows)
    if _format_of(out, "output") == "csv":  # dates and numbers as they came; Parquet keeps them typed
        filled = _numbers_as_text(_dates_as_text(filled, dates_found, rows), numbers_found, rows)
        if style is not None:  # a CSV in, a CSV out: its float columns as written
            filled = _floats_as_text(filled, _float_texts(src, df, style), style, rows)
    write_table(filled, out, args.overwrite, style=style or CSVStyle(), arrow_types=_arrow_types(src))
    if args.save_model:
        imputer.save(args.save_model, overwrite=args.overwrite)
        print(f"vaetools: model saved to {args.save_model}", file=sys.stderr)
    print(f"vaetools: wrote {out}", file=sys.stderr)
    return 0


# the long format of --multiple: which table a row belongs to (0: the input as it was) and its
# position in the input; R's mice reads it with as.mids(x, .imp = "imputation", .id = "row")
MULTIPLE_COLUMNS = ("imputation", "row")


def _with_dropped(filled, df, drop: list):
    """``filled`` with the columns ``--drop`` kept out put back in their places, from ``df``."""
    for c in sorted(drop, key=df.columns.get_loc):  # left to right: each place exists when it is filled
        filled.insert(df.columns.get_loc(c), c, df[c])
    return filled


def _them(columns: list) -> str:
    return "it" if len(columns) == 1 else "them"


def _words(columns: list) -> str:
    """Column names as a shell takes them after a flag: --drop id 'free text'."""
    return " ".join(shlex.quote(str(c)) for c in columns)


# formats tried after pandas' guesses from a column's first value, which miss dates written
# without leading zeros and two-digit years (4/2/22)
_DATE_FALLBACKS = tuple(f"{a}{sep}{b}{sep}{y}" for y in ("%Y", "%y") for sep in "/.-"
                        for a, b in (("%m", "%d"), ("%d", "%m")))


def _date_order(fmt: str) -> str | None:
    """'day-first' or 'month-first' for a format where day and month are both numbers and one
    of them leads; None where the order cannot be in doubt (year first, month by name)."""
    if "%m" not in fmt or "%d" not in fmt or fmt.startswith(("%Y", "%y")):
        return None
    return "day-first" if fmt.index("%d") < fmt.index("%m") else "month-first"


def _year_day_month(fmt: str) -> bool:
    """pandas' day-first guess for an ISO date (%Y-%d-%m): nobody writes it, and it would swap
    the days and months of ISO dates that allow it."""
    return fmt.startswith(("%Y", "%y")) and "%d" in fmt and "%m" in fmt and fmt.index("%d") < fmt.index("%m")


def _parse_dates(df, columns: list, src: Path, order: str | None) -> dict:
    """The columns ``--dates`` names, read as dates in place; returns, for each, the format its
    values were read in and the column as text, so that a CSV gets its observed dates back as
    they came and the imputed ones in the same format. A column that reads both month first and
    day first, with different dates, needs ``--date-order``: guessing would move dates silently.
    Columns already typed (Parquet) are left as they are."""
    import warnings

    import pandas as pd
    from pandas.tseries.api import guess_datetime_format

    from vaetools.tabular.times import is_time, is_time_of_day

    found = {}
    for c in columns:
        if c not in df.columns:
            raise CLIError(f"--dates names a column not in {src}: {c!r}")
        col = df[c]
        if is_time(col.dtype) or is_time_of_day(col) or not col.notna().any():
            continue
        first = str(col.dropna().iloc[0])
        clock = _time_of_day_format(col)
        if clock is not None:  # 08:30:15: times of day, Python times in place
            found[c] = (clock, col.astype("string"))
            df[c] = pd.to_datetime(col, format=clock).dt.time.astype(object).where(col.notna(), None)
            continue
        with warnings.catch_warnings():  # pandas warns when a guess goes against dayfirst
            warnings.simplefilter("ignore", UserWarning)
            guesses = [guess_datetime_format(first, dayfirst=d) for d in (False, True)]
        readings = {}  # order -> (format, dates); None: an order that cannot be in doubt
        for fmt in dict.fromkeys(f for f in [*guesses, *_DATE_FALLBACKS] if f and not _year_day_month(f)):
            fmt_order = _date_order(fmt)
            if fmt_order in readings or (order and fmt_order not in (None, order)):
                continue
            try:  # offsets that change along the column (daylight saving): read as UTC
                readings[fmt_order] = (fmt, pd.to_datetime(col, format=fmt, utc="%z" in fmt))
            except (ValueError, TypeError):
                continue
        if not readings:
            hint = f" in {order} order" if order else ""
            raise CLIError(f"--dates: column {c!r} of {src} does not read as dates in one format{hint} (its "
                           f"first value is {first!r}); write them as YYYY-MM-DD, or leave the column out of --dates")
        if None in readings:
            fmt, dates = readings[None]
        elif len(readings) == 2:
            (m_fmt, by_month), (d_fmt, by_day) = readings["month-first"], readings["day-first"]
            differ = by_month.ne(by_day) & col.notna()
            if differ.any():
                at = differ.idxmax()
                raise CLIError(
                    f"--dates: column {c!r} of {src} reads as dates both month first and day first "
                    f"({col[at]!r} is {by_month[at]:%d %B %Y} or {by_day[at]:%d %B %Y}); add "
                    "--date-order month-first or --date-order day-first")
            fmt, dates = m_fmt, by_month
        else:
            fmt, dates = next(iter(readings.values()))
        found[c] = (fmt, col.astype("string"))
        df[c] = dates
    return found


def _time_of_day_format(col) -> str | None:
    """The format of a text column of times of day (%H:%M, %H:%M:%S or %H:%M:%S.%f), where
    every value is one; else None."""
    from vaetools.tabular.schema import TIME_TEXT

    seen = col.dropna().astype(str).str.strip()
    if not len(seen) or not seen.str.match(TIME_TEXT).all() or seen.str.contains(r"\.\d{7,}").any():
        return None  # (%f reads up to microseconds)
    widest = int(seen.str.count(":").max()) + int(seen.str.contains(".", regex=False).any())
    return ("%H:%M", "%H:%M:%S", "%H:%M:%S.%f")[widest - 1]


def _parse_advice(exc, verb: str) -> str:
    """How the command line's flags model the columns of ``exc`` (an UnmodelledColumnError) that
    hold dates, times or numbers written as text."""
    out = ""
    if exc.date_columns:
        out += f"to {verb} {_them(exc.date_columns)} as dates or times, add --dates {_words(exc.date_columns)}; "
    if exc.number_columns:
        out += f"to {verb} {_them(exc.number_columns)} as numbers, add --numbers {_words(exc.number_columns)}; "
    return out


def _parse_numbers(df, columns: list, src: Path, style: CSVStyle | None) -> dict:
    """The columns ``--numbers`` names ($1,234.50, 51.3%), read in place as exact decimals,
    which the estimators model as numbers; returns, for each, its way of writing them and the
    column as text, so that a CSV gets its observed values back as they came and the imputed
    ones written the same way. Columns already numbers are left as they are."""
    import pandas as pd

    from vaetools.tabular.number_text import NumberText, pattern

    found = {}
    for c in columns:
        if c not in df.columns:
            raise CLIError(f"--numbers names a column not in {src}: {c!r}")
        col = df[c]
        if pd.api.types.is_numeric_dtype(col.dtype) or not col.notna().any():
            continue
        text = col.dropna().astype(str).str.strip()
        fmt = NumberText.learn(text, style.decimal if style else ".")
        if fmt is None:
            regex = pattern(style.decimal if style else ".")
            odd = next((v for v in text if not regex.match(v)), text.iloc[0])
            raise CLIError(f"--numbers: column {c!r} of {src} does not hold numbers written one way with a "
                           f"currency or percent sign or grouped thousands (e.g. {odd!r}); clean it, or leave "
                           "it out of --numbers")
        found[c] = (fmt, col.astype("string"))
        df[c] = pd.Series([None if pd.isna(v) else fmt.read(str(v)) for v in col], index=col.index, dtype=object)
    return found


def _numbers_as_text(filled, found: dict, rows=None):
    """``filled`` with the ``--numbers`` columns written back as text: observed cells exactly as
    they came, imputed ones (decimals) written as their column writes them."""
    import pandas as pd

    for c, (fmt, text) in found.items():
        def written(col, fmt=fmt):
            return col.map(lambda v: None if pd.isna(v) else fmt.write(v))

        filled[c] = _observed_as_given(text, filled[c], rows, written)
    return filled


def _float_texts(src: Path, df, style: CSVStyle) -> dict:
    """The float columns of the CSV ``src`` (``df`` as ``read_table`` read it) as written, for
    ``_floats_as_text``: a second reading, as text, of those columns alone."""
    import pandas as pd

    floats = [c for c in df.columns if pd.api.types.is_float_dtype(df[c].dtype)]
    if not floats or len(set(df.columns)) != len(df.columns):
        return {}
    text = pd.read_csv(src, dtype=str, keep_default_na=False, sep=style.sep, usecols=floats)
    return {c: text[c].where(df[c].notna().to_numpy(), None) for c in floats}


def _plain_places(text, decimal: str) -> tuple[int | None, str | None]:
    """The most decimal places of a column's observed values (``text``, None where missing)
    where every one is written plainly (12.5, -0.250; not 1e3 or 1,234.5), else None; and the
    first value not so written, else one with the most places (for messages)."""
    seen = text.dropna().str.strip()
    if not len(seen):
        return None, None
    plain = seen.str.match(rf"^[+-]?\d+(?:{re.escape(decimal)}\d+)?$")
    if not plain.all():
        return None, seen[~plain].iloc[0]
    places = seen.str.partition(decimal)[2].str.len()
    return int(places.max()), seen[places.idxmax()]


def _floats_as_text(filled, found: dict, style: CSVStyle, rows=None):
    """``filled`` with the float columns of a CSV written back as they came (1.080, not 1.08;
    1e3, not 1000.0), and imputed values with as many decimal places as the column's observed
    values have at most, where they are all written plainly (``_plain_places``)."""
    import pandas as pd

    for c, text in found.items():
        if c not in filled.columns or not pd.api.types.is_float_dtype(filled[c].dtype):
            continue
        places, _ = _plain_places(text, style.decimal)

        def written(col, places=places):
            out = col.map(lambda v: None if pd.isna(v) else f"{v:.{places}f}" if places is not None else repr(float(v)))
            return out.str.replace(".", style.decimal, regex=False) if style.decimal != "." else out

        filled[c] = _observed_as_given(text, filled[c], rows, written)
    return filled


def _floats_as_units(df, found: dict, style: CSVStyle, keep: list, saved=None) -> dict:
    """The float columns of a CSV whose values are all written plainly (12.5, -0.250), coded in
    place as whole units of their last place (Int64 thousandths for 0.250), as Parquet's
    decimals are (``_decimals_as_units``): a bound under half that place stores them exactly,
    and ``decompress`` writes them back with their places (1.080, not 1.0800000000000001).
    ``found``: from ``_float_texts``; ``keep``: columns stored as they are; ``saved``: a
    compressor given with --model, whose fit says which columns it took so (an integer dtype)
    and which as floats. Returns each column's places."""
    import pandas as pd

    fitted = getattr(saved, "fit_dtypes_", None)
    out = {}
    for c, text in found.items():
        in_units = fitted is None or pd.api.types.is_integer_dtype(_dtype_or_none(fitted.get(c)))
        if c in keep or not in_units or not text.notna().any():
            continue
        places, example = _plain_places(text, style.decimal)
        if places is None or places > 9:  # (at most 9 places: whole units within 15 digits)
            if fitted is not None:  # the model reads whole units: numbers in another form would be misread
                raise CLIError(f"column {c!r} was fitted as numbers written plainly (12.5), coded in whole units "
                               f"of their last place, but this table writes {example!r}; refit without --model")
            continue
        units = (df[c].astype("float64") * 10.0**places).round()
        # at most 15 digits: the float read from the text, times 10**places, rounds to its digits exactly
        if units.abs().max() >= 1e15:
            continue
        df[c] = units.astype("Int64")
        out[c] = places
    return out


def _dtype_or_none(name):
    from vaetools.tabular.schema import dtype_from_name

    try:
        return dtype_from_name(name)
    except ValueError:
        return None


def _dates_to_parse(names: list, saved, df) -> list:
    """``--dates``, and with ``--model`` the columns of ``df`` the model holds as dates: a table
    of the same columns has them as text again (a CSV), and the model says what they are."""
    held = [s.name for s in getattr(saved, "schema_", []) if s.time and s.time["kind"] in ("datetime", "timeofday")
            and s.name in df.columns]
    return list(dict.fromkeys([*names, *held]))


def _observed_as_given(given, column, rows, imputed):
    """``column`` (of the filled table) as the input had it: observed cells as ``given`` held
    them, imputed ones as ``imputed(column)`` writes them. ``rows``: each row's position in
    the input, where the filled table is not the input's rows in order (``--multiple``)."""
    import pandas as pd

    kept = given.to_numpy(dtype=object) if rows is None else given.to_numpy(dtype=object)[rows]
    fresh = imputed(column).to_numpy(dtype=object)
    return pd.Series(np.where(pd.isna(kept), fresh, kept), index=column.index, dtype=object)


def _dates_as_text(filled, found: dict, rows=None):
    """``filled`` with the ``--dates`` columns written back as text: observed cells exactly as
    they came, imputed ones in their column's format (``rows`` as in ``_observed_as_given``)."""
    for c, (fmt, text) in found.items():
        colon = "%z" in fmt and text.str.contains(r"[+-]\d\d:\d\d$", regex=True).any()

        def written(col, fmt=fmt, colon=colon):
            out = _strftime(col, fmt)  # +0200 for %z: written +02:00 where the input does
            return out.str.replace(r"([+-]\d\d)(\d\d)$", r"\1:\2", regex=True) if colon else out

        filled[c] = _observed_as_given(text, filled[c], rows, written)
    return filled


def _strftime(col, fmt: str):
    """Dates, or times of day (Python times), as text in ``fmt``."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return col.dt.strftime(fmt)
    return col.map(lambda v: None if pd.isna(v) else v.strftime(fmt)).astype("string")


def _object_columns(df, holds):
    """(name, column, its observed values) for each object column of ``df`` whose observed
    values all pass ``holds``: Python objects pandas left as they came (Parquet's decimals and
    dates)."""
    for c in df.columns:
        col = df[c]
        seen = col.dropna()
        if col.dtype == object and len(seen) and seen.map(holds).all():
            yield c, col, seen


def _decimals_as_numbers(df) -> dict:
    """Columns of Decimal values (Parquet's decimal128, as data warehouses write NUMERIC) read
    in place as Float64, which the estimators model as numbers; returns each one's values as
    they were and its decimal places, for ``_numbers_as_decimals``."""
    import decimal

    import pandas as pd

    found = {}
    for c, col, seen in _object_columns(df, lambda v: isinstance(v, decimal.Decimal)):
        places = max([0] + [-v.as_tuple().exponent for v in seen if v.is_finite()])
        found[c] = (col.copy(), places)
        df[c] = pd.to_numeric(col).astype("Float64")
    return found


def _dates_as_datetimes(df) -> dict:
    """Columns of Python dates (Parquet's date32, which pandas reads as ``datetime.date``
    objects) read in place as datetime64, which the estimators model as dates; returns each
    one's values as they were, for ``_datetimes_as_dates``."""
    import datetime

    import pandas as pd

    found = {}
    for c, col, _ in _object_columns(df, lambda v: isinstance(v, datetime.date) and not isinstance(v, datetime.datetime)):
        found[c] = col.copy()
        df[c] = pd.to_datetime(col)
    return found


def _datetimes_as_dates(filled, found: dict, rows=None):
    """``filled`` with the columns ``_dates_as_datetimes`` read back as Python dates: observed
    cells as they were, imputed ones the date of the imputed value."""
    for c, given in found.items():
        filled[c] = _observed_as_given(given, filled[c], rows, lambda col: col.dt.date)
    return filled


def _decimals_as_units(df, found: dict) -> dict:
    """The decimal columns ``_decimals_as_numbers`` found, coded in place as whole units of
    their last place (Int64 cents for 2 places), so that the compressor's integer columns keep
    every value within the bound and exact below half a unit, and decode to decimals again;
    returns each one's places. A column with values past 2**53 units stays as numbers."""
    import pandas as pd

    out = {}
    for c, (given, places) in found.items():
        units = [None if pd.isna(v) or not v.is_finite() else int(v.scaleb(places)) for v in given]
        if all(u is None or abs(u) < 2**53 for u in units):
            df[c] = pd.array(units, dtype="Int64")
            out[c] = places
        else:
            print(f"vaetools: column {c!r} holds decimals past 2**53 units of their last place; it is "
                  "compressed as numbers and decompress gives floats", file=sys.stderr)
    return out


def _bound_in_units(bound, mode: str, units: dict):
    """An absolute ``--error-bound`` in the units ``_decimals_as_units`` codes decimal columns
    in; a relative one (a share of the range) needs no change."""
    if mode != "absolute" or not units or bound is None:
        return bound
    if not isinstance(bound, dict):
        raise CLIError(f"--error-bound {bound:g} in absolute mode: give the decimal columns {list(units)} their "
                       f"own bound, e.g. --error-bound {next(iter(units))}=0.01,other=0.5 (a bound per column)")
    return {c: v * 10 ** units[c] if c in units else v for c, v in bound.items()}


def _units_as_decimals(column, places: int):
    """Whole units of the last place (cents) back to decimals with ``places`` places."""
    import decimal

    import pandas as pd

    return pd.Series([None if pd.isna(v) else decimal.Decimal(int(v)).scaleb(-places) for v in column],
                     index=column.index, dtype=object)


def _numbers_as_decimals(filled, found: dict, rows=None):
    """``filled`` with the columns ``_decimals_as_numbers`` read as numbers back as Decimal:
    observed cells exactly as they were, imputed ones rounded to the column's decimal places."""
    import decimal

    import pandas as pd

    for c, (given, places) in found.items():
        def as_decimal(col, places=places):
            return col.map(lambda v: None if pd.isna(v) else decimal.Decimal(f"{v:.{places}f}"))

        filled[c] = _observed_as_given(given, filled[c], rows, as_decimal)
    return filled


def _stacked(df, tables: list):
    """The input and its completed copies in one table, each row marked with its copy and its
    position in the input (``MULTIPLE_COLUMNS``)."""
    import pandas as pd

    parts = []
    for i, t in enumerate([df, *tables]):
        t = t.reset_index(drop=True)
        t.insert(0, MULTIPLE_COLUMNS[1], np.arange(len(t)))
        t.insert(0, MULTIPLE_COLUMNS[0], i)
        parts.append(t)
    return pd.concat(parts, ignore_index=True)


def _parse_column_types(text: str | None) -> dict | None:
    """``zip=categorical,age=continuous``: kinds forced by column name."""
    from vaetools.tabular import KINDS

    if not text:
        return None
    out = {}
    for part in text.split(","):
        name, sep, kind = part.partition("=")
        if not sep or not name.strip() or kind.strip() not in KINDS:
            raise CLIError(f"--column-types {text!r}: give column=kind pairs (zip=categorical), kind one "
                           f"of {', '.join(KINDS)}")
        out[name.strip()] = kind.strip()
    return out


def _parse_bound(text: str):
    """``0.01`` for every numeric column, ``col=0.01,other=0.5`` per column (a date or duration
    column's as a duration, ``signup=1h``), or ``none``."""
    import pandas as pd

    if text.strip().lower() == "none":
        return None

    def value(v: str):
        try:
            return float(v)
        except ValueError:
            return pd.Timedelta(v.strip())  # 1h, 2 days, 00:30:00

    try:
        if "=" not in text:
            out = float(text)
        else:
            out = {}
            for part in text.split(","):
                name, v = part.split("=", 1)
                out[name.strip()] = value(v)
    except ValueError:
        raise CLIError(f"--error-bound {text!r}: give a number (0.01) or column=number pairs "
                       "(price=0.5,qty=0.01; a date column's as a duration, signup=1h)") from None
    values = out.values() if isinstance(out, dict) else [out]
    if not all(v > pd.Timedelta(0) if isinstance(v, pd.Timedelta) else np.isfinite(v) and v > 0 for v in values):
        raise CLIError(f"--error-bound {text!r}: bounds must be positive numbers (0.01 is 1% of each "
                       "column's range)")
    return out


def cmd_compress(args) -> int:
    from vaetools.compress import VAECompressor
    from vaetools.tabular.schema import NestedValuesError, UnmodelledColumnError

    src, out = Path(args.input), Path(args.output)
    if out.suffix.lower() != ".vtz":
        raise CLIError(f"output {out}: use the .vtz extension")
    check_destination(out, [src], args.overwrite)
    if args.save_model:
        check_destination(Path(args.save_model), [src, out], args.overwrite)
    style = _input_style(src)  # kept in the file, for decompress to write the CSV back as it came
    df = read_table(src, args.na_values, style)
    unknown = [c for c in args.passthrough if c not in df.columns]
    if unknown:
        raise CLIError(f"--passthrough names columns not in {src}: {unknown}")
    saved = VAECompressor.load(args.model) if args.model else None
    dates_found = _parse_dates(df, _dates_to_parse(args.dates, saved, df), src, args.date_order)
    numbers_found = _parse_numbers(df, args.numbers, src, style)
    written_floats = _floats_as_units(df, _float_texts(src, df, style), style, args.passthrough, saved) \
        if style is not None else {}
    units = _decimals_as_units(df, _decimals_as_numbers(df)) | written_floats
    _dates_as_datetimes(df)  # Parquet's date32: decompress gives datetime64 (a CSV: YYYY-MM-DD)
    if saved is not None:
        comp = saved
        print(f"vaetools: loaded model {args.model}", file=sys.stderr)
        # the bound the model was fitted for, unless one is asked for: any bound is guaranteed
        bound = "fit" if args.error_bound is None else \
            _bound_in_units(_parse_bound(args.error_bound), args.error_mode or saved.error_mode, units)
    else:
        comp = VAECompressor(latent_dim=args.latent_dim, rate_weight=args.rate_weight, quantization=args.quantization,
                             error_bound=_bound_in_units(_parse_bound(args.error_bound or "0.01"),
                                                         args.error_mode or "relative", units),
                             error_mode=args.error_mode or "relative",
                             max_epochs=args.epochs or "auto", device=args.device, random_state=args.seed,
                             column_types=_parse_column_types(args.column_types), verbose=0 if args.quiet else 1,
                             autoregressive={"auto": "auto", "on": True, "off": False}[args.autoregressive])
        modelled = df.drop(columns=args.passthrough)
        print(f"vaetools: fitting on {len(df)} rows x {modelled.shape[1]} columns", file=sys.stderr)
        try:
            comp.fit(modelled)
        except NestedValuesError as exc:
            raise CLIError(f"{exc.reason}, and a .vtz file cannot store it as it is; expand it into columns "
                           "of its own, or remove it from the table") from None
        except UnmodelledColumnError as exc:  # the command line's way to keep them
            them = _them(exc.columns)
            raise CLIError(f"{exc.reason}; {_parse_advice(exc, 'model')}to keep {them} in the file as "
                           f"{'it is' if them == 'it' else 'they are'}, add --passthrough {_words(exc.columns)}, "
                           f"or remove {them} from the table") from None
        bound = "fit"
    kept = {STYLE_KEYS["sep"]: style.sep, STYLE_KEYS["decimal"]: style.decimal} if style else {}
    kept |= {DATE_FORMAT_KEY + str(c): fmt for c, (fmt, _) in dates_found.items()}
    kept |= {DECIMAL_PLACES_KEY + str(c): str(places) for c, places in units.items()}
    kept |= {NUMBER_TEXT_KEY + str(c): fmt.to_json() for c, (fmt, _) in numbers_found.items()}
    kept |= {CSV_FLOAT_KEY + str(c): "1" for c in written_floats}
    report = comp.compress(df, out, error_bound=bound, error_mode=args.error_mode, chunk_rows=args.chunk_rows,
                           overwrite=args.overwrite, passthrough=args.passthrough, metadata=kept or None)
    ratio = src.stat().st_size / report["total"]
    than = f"{ratio:.2f}x smaller than" if ratio >= 1 else f"{1 / ratio:.2f}x larger than"
    print(f"vaetools: wrote {out}: {report['total']} bytes ({than} {src.name})", file=sys.stderr)
    if args.save_model:
        comp.save(args.save_model, overwrite=args.overwrite)
        print(f"vaetools: model saved to {args.save_model}", file=sys.stderr)
    return 0


def cmd_decompress(args) -> int:
    import decimal

    import pandas as pd

    from vaetools.compress import decompress
    from vaetools.compress.codec import file_metadata
    from vaetools.tabular.number_text import NumberText
    from vaetools.tabular.times import is_time_of_day

    src, out = Path(args.input), Path(args.output)
    _format_of(out, "output")
    check_destination(out, [src], args.overwrite)
    rows = None
    if args.rows:
        try:
            start, stop = (int(v) if v else None for v in args.rows.split(":"))
        except ValueError:
            raise CLIError(f"--rows {args.rows!r}: use START:STOP, e.g. 100:200") from None
        rows = slice(start, stop)
    csv = _format_of(out, "output") == "csv"
    kept = file_metadata(src) if src.exists() else {}  # what compress kept of the input's form
    style = _decompressed_style(kept, args.sep, args.decimal) if csv else CSVStyle()
    df = decompress(src, rows=rows)
    floats = _by_column(kept, CSV_FLOAT_KEY)
    for c, places in _by_column(kept, DECIMAL_PLACES_KEY).items():  # whole units back to decimals
        if c in df.columns and pd.api.types.is_integer_dtype(df[c]) and places.isdigit():
            df[c] = _units_as_decimals(df[c], int(places))
            if c in floats and not csv:  # a CSV's float column: floats again in Parquet
                df[c] = pd.to_numeric(df[c]).astype("Float64")
    for c, text in (_by_column(kept, NUMBER_TEXT_KEY) if csv else {}).items():  # --numbers likewise
        fmt = NumberText.from_json(text)
        if c in df.columns and fmt is not None and df[c].map(lambda v: isinstance(v, decimal.Decimal) or pd.isna(v)).all():
            df[c] = df[c].map(lambda v: None if pd.isna(v) else fmt.write(v)).astype(object)
    dates = _by_column(kept, DATE_FORMAT_KEY) if csv else {}  # --dates as the CSV had them
    for c, fmt in dates.items():
        if c in df.columns and (pd.api.types.is_datetime64_any_dtype(df[c]) or is_time_of_day(df[c])):
            df[c] = _strftime(df[c], fmt)
    # row labels the file kept (a DataFrame's index) go out as the first columns; row numbers do not
    labelled = not isinstance(df.index, pd.RangeIndex) or any(n is not None for n in df.index.names)
    write_table(df, out, args.overwrite, index=labelled, style=style)
    print(f"vaetools: wrote {out} ({len(df)} rows)", file=sys.stderr)
    return 0


def _by_column(kept: dict, prefix: str) -> dict:
    """The entries of a file's metadata under ``prefix`` (``DATE_FORMAT_KEY``,
    ``DECIMAL_PLACES_KEY``), by the column's name that follows it."""
    return {key[len(prefix):]: value for key, value in kept.items() if key.startswith(prefix)}


def _decompressed_style(kept: dict, sep: str | None, decimal: str | None) -> CSVStyle:
    """The CSV style decompress writes: as asked, else that of the CSV the file was made from
    (``kept``: its metadata), else commas and points."""
    if sep is None:
        sep = kept.get(STYLE_KEYS["sep"]) if kept.get(STYLE_KEYS["sep"]) in _SEPARATORS else ","
    if decimal is None:
        decimal = kept.get(STYLE_KEYS["decimal"]) if kept.get(STYLE_KEYS["decimal"]) in _DECIMALS else "."
    if sep == decimal:
        raise CLIError(f"--sep and --decimal are both {sep!r}; a CSV needs them to differ "
                       "(e.g. --sep ';' --decimal ',')")
    return CSVStyle(sep, decimal)


def cmd_info(args) -> int:
    from vaetools.compress import info
    from vaetools.compress.container import MAGIC
    from vaetools.persist import ZIP_MAGIC

    path = Path(args.input)
    if not path.exists():
        raise CLIError(f"input {path} does not exist")
    with open(path, "rb") as fh:
        head = fh.read(len(MAGIC))
    if head != MAGIC and path.suffix.lower() != ".vtz":
        return _info_saved_model(path, zipped=head.startswith(ZIP_MAGIC))  # saved models are zips
    facts = info(args.input)
    b = facts["bytes"]
    print(f"{facts['path']}: .vtz format version {facts['format_version']}")
    print(f"rows {facts['rows']}, columns {facts['columns']}, chunks {facts['chunks']}, "
          f"latent size {facts['latent_dim']}" + (", columns conditioned on earlier columns"
                                                   if facts["autoregressive"] else ""))
    print(f"bytes: total {b['total']}, decoder weights {b['decoder_weights']}, row chunks {b['chunks']}, "
          f"header and index {b['total'] - b['decoder_weights'] - b['chunks']}")
    print(f"bits per value: {facts['bits_per_value']:.3f}")
    for key, value in facts["metadata"].items():
        print(f"metadata {key}: {value!r}")
    bounds, kinds = dict(facts["error_bounds"]), dict(facts["column_kinds"])
    places = {c: int(v) for c, v in _by_column(facts["metadata"], DECIMAL_PLACES_KEY).items() if v.isdigit()}
    for name in list(kinds):  # decimal columns: coded in whole units of their last place
        if str(name) in places:
            p = places[str(name)]
            kinds[name] = f"decimal with {p} places, coded in whole units of {10.0 ** -p:g}"
            if name in bounds:
                bounds[name] = bounds[name] / 10**p
    print("error bounds: " + (", ".join(f"{k}: {v:g}" if isinstance(v, (int, float)) else f"{k}: {v}"
                                        for k, v in bounds.items()) if bounds else
                              "none (numeric values are the decoder's reconstruction)"))
    s = facts["stream_bytes"]
    labels = sum(n for k, n in s.items() if k.startswith("index/"))
    print(f"row chunks: latent codes {s['latents']}, decode checks {s.get('checks', 0)}, framing {s['framing']}, "
          + (f"row labels (the index) {labels}, " if labels else "") + "and by column (values and missing-cell marks):")
    rows = max(facts["rows"], 1)
    as_is = set(facts["passthrough_columns"])
    for name, nbytes in sorted(facts["column_bytes"].items(), key=lambda kv: -kv[1]):
        print(f"  {str(name):24s} {nbytes:10d} bytes  {8 * nbytes / rows:7.3f} bits/row  "
              + ("stored as it is" if name in as_is else kinds.get(name, "")))
    return 0


def _info_saved_model(path: Path, zipped: bool) -> int:
    """``info`` on a model saved with ``--save-model`` (any file that is not a .vtz); ``zipped``:
    whether it is a zip, whose reason for not being a model is worth saying."""
    from vaetools.persist import describe_saved

    try:
        facts = describe_saved(path)
    except ValueError as exc:
        raise CLIError(f"{path} is not a vaetools .vtz file nor a saved model"
                       + (f" ({exc})" if zipped else "")) from None
    p = facts["params"]
    print(f"{facts['path']}: saved {facts['class']} (format version {facts['version']})")
    kinds: dict[str, int] = {}
    for _, kind in facts["columns"]:
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"columns {len(facts['columns'])}: " + ", ".join(f"{n} {k}" for k, n in kinds.items()))
    for name, kind in facts["columns"]:
        print(f"  {str(name):24s} {kind}" + (f": {facts['times'][name]}" if name in facts["times"] else ""))
    if facts["dropped_empty"]:
        print(f"columns with no observed value at fit, dropped from the output: {facts['dropped_empty']}")
    print(f"model: latent size {p.get('latent_dim')}, hidden {p.get('hidden_sizes')}, likelihood "
          f"{p.get('likelihood')}, {facts['weights']:,} weights")
    loss = facts["final_loss"]
    print(f"trained {facts['epochs']} epochs" + (f", final training loss {loss:.4f}" if loss is not None else ""))
    if facts["class"] == "VAEImputer":
        print("multiple imputation: " + ("draws with a spread fitted to unseen cells" if facts["draw_scale"] else
                                          "draws with the decoder's scale (saved before vaetools fitted a draw scale)"))
    return 0


def _one_character(text: str) -> str:
    text = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if len(text) != 1 or text in '"\r\n':
        raise argparse.ArgumentTypeError(f"{text!r}: give one character, e.g. ';' or '\\t' for a tab")
    return text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from vaetools import __version__

    parser = argparse.ArgumentParser(prog="vaetools", description="Impute and compress tables with VAEs.")
    parser.add_argument("--version", action="version", version=f"vaetools {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("impute", help="fill the missing cells of a CSV or Parquet file",
                       description="Fill missing cells (empty fields, NA) of IN and write OUT.")
    p.add_argument("input", metavar="IN", help="input table (.csv, .csv.gz or .parquet)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output table (.csv or .parquet)")
    p.add_argument("--model", help="use a model saved earlier with --save-model instead of fitting")
    p.add_argument("--save-model", metavar="PATH", help="save the fitted model for reuse")
    p.add_argument("--drop", nargs="+", default=[], metavar="COL",
                   help="columns to pass through untouched (IDs, free text)")
    p.add_argument("--column-types", metavar="COL=KIND,...",
                   help="force column kinds: continuous, integer, binary or categorical (zip=categorical)")
    p.add_argument("--dates", nargs="+", default=[], metavar="COL",
                   help="columns of dates, timestamps or times of day written as text, to impute as such; "
                        "a CSV gets them back as they came, the imputed ones in the column's format")
    p.add_argument("--date-order", choices=["month-first", "day-first"], default=None,
                   help="how to read --dates columns like 04/02/2022 that read both ways (April 2 or "
                        "4 February); needed only when they do")
    p.add_argument("--numbers", nargs="+", default=[], metavar="COL", help=NUMBERS_HELP)
    p.add_argument("--na-values", nargs="+", default=[], metavar="TOKEN", help=NA_HELP)
    p.add_argument("--latent-dim", type=int, default=8)
    p.add_argument("--epochs", type=int, default=None,
                   help="training epochs (default: from the table's size, about 384,000 row visits within [20, 400] "
                        "epochs, at most ~2,000,000 visits)")
    p.add_argument("--draws", type=int, default=5, help="importance samples per row in training")
    p.add_argument("--imputation-draws", type=int, default=32, help="importance samples per row when imputing")
    p.add_argument("--multiple", type=_positive_int, default=None, metavar="M",
                   help="write M completed tables drawn from the model (multiple imputation, for "
                        "Rubin's rules) into OUT, stacked after the input, with columns "
                        "'imputation' (0: the input, 1..M) and 'row' (0-based position in IN): "
                        "R's mice reads it with as.mids(x, .imp = \"imputation\", .id = \"row\")")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace OUT (never IN) if it exists")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_impute)

    p = sub.add_parser("compress", help="compress a table to a .vtz file",
                       description="Fit a VAECompressor on IN and write IN to OUT.vtz.")
    p.add_argument("input", metavar="IN")
    p.add_argument("-o", "--output", required=True, metavar="OUT.vtz")
    # a default with a guarantee: without one, numeric columns decode to the model's estimate,
    # and at the default --rate-weight that estimate is coarse (adult: RMSE 0.89 std units)
    p.add_argument("--error-bound", metavar="B", default=None,
                   help="guaranteed bound on numeric values: 0.01 (the default: 1%% of each column's "
                        "range), col=0.01,..., or none (no guarantee: numeric values are the model's "
                        "estimate, sharper at a lower --rate-weight); with --model, the bound it was "
                        "fitted for unless given")
    p.add_argument("--error-mode", choices=["relative", "absolute"], default=None,
                   help="bound as a share of each column's range (default) or in its units")
    p.add_argument("--model", help="compress with a model saved earlier with --save-model instead of "
                                   "fitting one (the fitting options are then unused)")
    p.add_argument("--save-model", metavar="PATH", help="save the fitted model, to compress more tables "
                                                        "of the same columns without fitting again")
    p.add_argument("--column-types", metavar="COL=KIND,...",
                   help="force column kinds (zip=categorical); an integer column declared continuous "
                        "decodes to floats within the bound")
    p.add_argument("--na-values", nargs="+", default=[], metavar="TOKEN", help=NA_HELP)
    p.add_argument("--passthrough", nargs="+", default=[], metavar="COL",
                   help="columns to store exactly as they are, not modelled (IDs, free text)")
    p.add_argument("--dates", nargs="+", default=[], metavar="COL",
                   help="columns of dates, timestamps or times of day written as text, to model as such "
                        "(decompress writes them to CSV in their format)")
    p.add_argument("--date-order", choices=["month-first", "day-first"], default=None,
                   help="how to read --dates columns like 04/02/2022 that read both ways")
    p.add_argument("--numbers", nargs="+", default=[], metavar="COL", help=NUMBERS_HELP)
    p.add_argument("--latent-dim", type=int, default=8)
    p.add_argument("--autoregressive", choices=["auto", "on", "off"], default="auto",
                   help="condition each column on those decoded before it (auto: from 20,000 rows, with a bound)")
    p.add_argument("--rate-weight", type=float, default=1.0)
    p.add_argument("--quantization", type=float, default=1.0)
    p.add_argument("--chunk-rows", type=int, default=None,
                   help="rows per chunk, the unit a partial read decodes (default 65,536, fewer past 1,024 columns)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("decompress", help="read a .vtz file back into a table")
    p.add_argument("input", metavar="IN.vtz")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help=".csv or .parquet")
    p.add_argument("--rows", metavar="START:STOP", help="read only these rows")
    p.add_argument("--sep", type=_one_character, default=None,
                   help="a CSV's field separator (default: that of the CSV the file was made from, else ',')")
    p.add_argument("--decimal", choices=_DECIMALS, default=None,
                   help="a CSV's decimal mark (default: that of the CSV the file was made from, else '.')")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=cmd_decompress)

    p = sub.add_parser("info", help="describe a .vtz file or a model saved with --save-model")
    p.add_argument("input", metavar="IN.vtz|MODEL")
    p.set_defaults(func=cmd_info)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    def show(message, category, filename, lineno, file=None, line=None):
        # one line, as errors are: a command-line user has no use for the Python file that warned
        print(f"vaetools {args.command}: warning: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = show
            return args.func(args)
    except CLIError as exc:
        print(f"vaetools {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, IndexError, FileExistsError, FileNotFoundError) as exc:
        print(f"vaetools {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
