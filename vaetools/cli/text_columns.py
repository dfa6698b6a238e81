"""Columns that a CSV writes for people (dates, times of day, $1,234.50, 1.080) and that Parquet
holds as Python objects (decimals, dates), read as typed values the estimators model, and
written back as they came: observed cells exactly, imputed or decoded ones in the column's form.

Each ``*_as_*`` reader changes the table in place and returns what its writer needs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from vaetools.cli.tables import CLIError, CSVStyle

# what a .vtz's metadata keeps of its columns' form, each under a prefix and the column's name:
# a --dates column's format (strftime), for decompress to write a CSV's dates as they came
DATE_FORMAT_KEY = "vaetools.csv.date_format."
# ... and the digits its fractions of a second were written with (14:55:02.869: 3), which %f,
# always six, does not keep
FRACTION_DIGITS_KEY = "vaetools.csv.fraction_digits."
# a decimal column the command line coded as whole units of its last place (cents), in files of
# vaetools before the compressor counted decimals itself (format 10): its places, for decompress
# to give decimals back. No longer written
DECIMAL_PLACES_KEY = "vaetools.decimal_places."
# a CSV's float column compress read as the decimals it is written as, for decompress to give a
# Parquet file floats again; a CSV gets the decimals, written with their places
CSV_FLOAT_KEY = "vaetools.csv.float."
# a --numbers column's way of writing them (``NumberText.to_json``), for decompress to
# write a CSV's $1,234.50 as it came
NUMBER_TEXT_KEY = "vaetools.csv.number_text."


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


def parse_dates(df, columns: list, src: Path, order: str | None) -> dict:
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


def parse_numbers(df, columns: list, src: Path, style: CSVStyle | None) -> dict:
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


def numbers_as_text(filled, found: dict, rows=None):
    """``filled`` with the ``--numbers`` columns written back as text: observed cells exactly as
    they came, imputed ones (decimals) written as their column writes them."""
    import pandas as pd

    for c, (fmt, text) in found.items():
        def written(col, fmt=fmt):
            return col.map(lambda v: None if pd.isna(v) else fmt.write(v))

        filled[c] = _observed_as_given(text, filled[c], rows, written)
    return filled


def float_texts(src: Path, df, style: CSVStyle) -> dict:
    """The float columns of the CSV ``src`` (``df`` as ``read_table`` read it) as written, for
    ``floats_as_text``: a second reading, as text, of those columns alone."""
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


def floats_as_text(filled, found: dict, style: CSVStyle, rows=None):
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


def floats_as_decimals(df, found: dict, style: CSVStyle, keep: list, saved=None) -> list:
    """The float columns of a CSV whose values are all written plainly (12.5, -0.250) with at
    most 9 places, read in place as the decimals they are written as (from ``found``, their
    text; ``float_texts``), which the compressor codes in whole units of their last place
    (``tabular.decimals``): a bound under half that place stores them exactly, and decompress
    writes them back with their places (1.080, not 1.0800000000000001). ``keep``: columns
    stored as they are; ``saved``: a compressor given with --model, whose fit says which
    columns it took as decimals and which as floats. Returns the columns read so."""
    import decimal

    import pandas as pd

    from vaetools.tabular.decimals import MAX_UNITS

    held = {s.name: s for s in getattr(saved, "schema_", [])}
    out = []
    for c, text in found.items():
        if c in keep or not text.notna().any():
            continue
        if saved is not None:
            spec = held.get(c)
            if spec is not None and spec.decimal is None and pd.api.types.is_integer_dtype(
                    _dtype_or_none(saved.fit_dtypes_.get(c))):
                raise CLIError(f"column {c!r} was fitted by an older vaetools in whole units of its last place "
                               f"(an integer column), which this one no longer reads; fit the model again")
            if spec is None or spec.decimal is None:  # a model fitted on floats reads floats
                continue
        places, example = _plain_places(text, style.decimal)
        if places is None or places > 9:
            if saved is not None:  # the model reads decimals: numbers in another form would be misread
                raise CLIError(f"column {c!r} was fitted as numbers written plainly (12.5), read as decimals, "
                               f"but this table writes {example!r}; refit without --model")
            continue
        if df[c].abs().max() * 10.0**places >= MAX_UNITS:  # past what whole units hold exactly: floats
            continue
        written = text.str.strip().str.replace(style.decimal, ".", regex=False)
        df[c] = pd.Series([decimal.Decimal(v) if isinstance(v, str) else None
                           for v in written.to_numpy(dtype=object, na_value=None)],
                          index=df.index, dtype=object)
        out.append(c)
    return out


def _dtype_or_none(name):
    from vaetools.tabular.schema import dtype_from_name

    try:
        return dtype_from_name(name)
    except ValueError:
        return None


def dates_to_parse(names: list, saved, df) -> list:
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


def dates_as_text(filled, found: dict, rows=None):
    """``filled`` with the ``--dates`` columns written back as text: observed cells exactly as
    they came, imputed ones in their column's format (``rows`` as in ``_observed_as_given``)."""
    for c, (fmt, text) in found.items():
        colon = "%z" in fmt and text.str.contains(r"[+-]\d\d:\d\d$", regex=True).any()

        def written(col, fmt=fmt, colon=colon, digits=fraction_digits(fmt, text)):
            out = strftime(col, fmt, digits)  # +0200 for %z: written +02:00 where the input does
            return out.str.replace(r"([+-]\d\d)(\d\d)$", r"\1:\2", regex=True) if colon else out

        filled[c] = _observed_as_given(text, filled[c], rows, written)
    return filled


def fraction_digits(fmt: str, text) -> int | None:
    """The most digits a ``--dates`` column's fractions of a second are written with, where its
    format has them (%f)."""
    if "%f" not in fmt:
        return None
    found = text.dropna().astype(str).str.extract(r":\d\d\.(\d+)", expand=False).dropna()
    return int(found.str.len().max()) if len(found) else None


def strftime(col, fmt: str, digits: int | None = None):
    """Dates, or times of day (Python times), as text in ``fmt``; %f's six digits cut to
    ``digits`` where given (the values are whole steps of that many: nothing is lost)."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        out = col.dt.strftime(fmt).astype("string")
    else:
        out = col.map(lambda v: None if pd.isna(v) else v.strftime(fmt)).astype("string")
    if digits is not None and 0 < digits < 6 and "%f" in fmt:
        out = out.str.replace(rf"(:\d\d\.\d{{{digits}}})\d{{{6 - digits}}}", r"\1", regex=True)
    return out


def _object_columns(df, holds):
    """(name, column, its observed values) for each object column of ``df`` whose observed
    values all pass ``holds``: Python objects pandas left as they came (Parquet's decimals and
    dates)."""
    for c in df.columns:
        col = df[c]
        seen = col.dropna()
        if col.dtype == object and len(seen) and seen.map(holds).all():
            yield c, col, seen


def decimals_as_numbers(df, saved=None) -> dict:
    """Columns of Decimal values (Parquet's decimal128, as data warehouses write NUMERIC) that
    the estimators cannot model as decimals, read in place as Float64: those past 2**50 units
    of their last place, and those a model given with --model was fitted on as numbers (by a
    vaetools before decimals). Returns each one's values as they were and its decimal places,
    for ``numbers_as_decimals``. The others the estimators take as they are."""
    import decimal

    import pandas as pd

    from vaetools.tabular.decimals import places_of, uncountable

    held = {s.name: s for s in getattr(saved, "schema_", [])}
    found = {}
    for c, col, seen in _object_columns(df, lambda v: isinstance(v, decimal.Decimal)):
        as_numbers = c in held and held[c].decimal is None and held[c].kind in ("integer", "continuous")
        if not as_numbers and uncountable(col) is None:
            continue
        places = max([0] + [places_of(v) for v in seen if v.is_finite()])
        found[c] = (col.copy(), places)
        df[c] = pd.to_numeric(col).astype("Float64")
    return found


def dates_as_datetimes(df) -> dict:
    """Columns of Python dates (Parquet's date32, which pandas reads as ``datetime.date``
    objects) read in place as datetime64, which the estimators model as dates; returns each
    one's values as they were, for ``datetimes_as_dates``."""
    import datetime

    import pandas as pd

    found = {}
    for c, col, _ in _object_columns(df, lambda v: isinstance(v, datetime.date) and not isinstance(v, datetime.datetime)):
        found[c] = col.copy()
        df[c] = pd.to_datetime(col)
    return found


def datetimes_as_dates(filled, found: dict, rows=None):
    """``filled`` with the columns ``dates_as_datetimes`` read back as Python dates: observed
    cells as they were, imputed ones the date of the imputed value."""
    for c, given in found.items():
        filled[c] = _observed_as_given(given, filled[c], rows, lambda col: col.dt.date)
    return filled


def units_as_decimals(column, places: int):
    """Whole units of the last place (cents) back to decimals with ``places`` places."""
    import decimal

    import pandas as pd

    return pd.Series([None if pd.isna(v) else decimal.Decimal(int(v)).scaleb(-places) for v in column],
                     index=column.index, dtype=object)


def numbers_as_decimals(filled, found: dict, rows=None):
    """``filled`` with the columns ``decimals_as_numbers`` read as numbers back as Decimal:
    observed cells exactly as they were, imputed ones rounded to the column's decimal places."""
    import decimal

    import pandas as pd

    for c, (given, places) in found.items():
        def as_decimal(col, places=places):
            return col.map(lambda v: None if pd.isna(v) else decimal.Decimal(f"{v:.{places}f}"))

        filled[c] = _observed_as_given(given, filled[c], rows, as_decimal)
    return filled


def by_column(kept: dict, prefix: str) -> dict:
    """The entries of a file's metadata under ``prefix`` (``DATE_FORMAT_KEY``,
    ``DECIMAL_PLACES_KEY``), by the column's name that follows it."""
    return {key[len(prefix):]: value for key, value in kept.items() if key.startswith(prefix)}
