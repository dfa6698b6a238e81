"""Reading and writing the command line's tables: CSV (in the style a spreadsheet wrote it:
separator, decimal mark) and Parquet, whole or not at all, never over the input."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from vaetools._files import write_atomically

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


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
# the separators and decimal marks vaetools reads and writes
SEPARATORS, DECIMAL_MARKS = (",", ";", "\t", "|"), (".", ",")

# a number with a decimal comma, as spreadsheets in many locales write it: 179,4 or -0,5e3
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+(?:[eE][+-]?\d+)?$")
_DECIMAL_POINT = re.compile(r"^[+-]?\d*\.\d+(?:[eE][+-]?\d+)?$")
# with a decimal comma, points group thousands: 1.234,5 or 12.345.678
_THOUSANDS_POINT = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+(?:,\d+)?$")


class CLIError(Exception):
    """A problem with the user's input: printed as one line, exit status 2."""


def table_format(path: Path, what: str) -> str:
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

    fmt = table_format(path, "input")
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
    if fmt == "csv" and not isinstance(df.index, pd.RangeIndex):  # pandas took the extra fields for row labels
        raise CLIError(f"{path}: its rows have more fields than its header ({df.shape[1]} columns, separated by "
                       f"{style.sep!r}); check the separator, or quote the fields that hold it")
    return df if fmt == "csv" else _mark_missing(df, na_values)


def csv_style(path: Path, sample_lines: int = 200) -> CSVStyle:
    """The CSV's field separator and decimal mark, from its first lines. The separator is a
    comma unless the first line has none and holds semicolons, tabs or bars (a spreadsheet's
    export in many locales), which would read as one column of text. With another separator
    than the comma, the decimal mark is a comma when the sampled fields hold numbers written
    with one (179,4) and none written with a point; read with a point, such columns were text,
    and refused as IDs. Points then group thousands where fields show it (1.234,5). A file of
    one column (no separator in its first line) whose values hold commas (-0,118 or $1,234.50)
    is read with a separator none of its lines holds: with a comma each row split in two."""
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
    if not counts[sep]:  # one column
        sep = next((s for s in counts if not any(s in line for line in lines)), None)
        if sep is None or not any("," in line for line in lines[1:]):
            return CSVStyle()
    fields = [f.strip().strip('"') for line in lines[1:] for f in line.rstrip("\r\n").split(sep)]
    grouped = {f for f in fields if _THOUSANDS_POINT.match(f)}
    comma = any("," in f for f in grouped) or any(_DECIMAL_COMMA.match(f) for f in fields)
    point = any(_DECIMAL_POINT.match(f) for f in fields if f not in grouped)
    if comma and not point:
        return CSVStyle(sep, ",", "." if grouped else None)
    return CSVStyle(sep, ".")


def input_style(src: Path) -> CSVStyle | None:
    """The style of an input CSV (``csv_style``); None for Parquet."""
    return csv_style(src) if table_format(src, "input") == "csv" else None


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
    fmt = table_format(path, "output")

    def write(tmp: Path) -> None:
        if fmt == "csv":
            _decimals_written(df, style.decimal).to_csv(tmp, index=index, sep=style.sep, decimal=style.decimal)
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


def _decimals_written(df, mark: str):
    """``df`` with its columns of Decimal values as text in fixed point with the CSV's decimal
    mark: pandas writes them with ``str``, which keeps a point (10,25 came back 10.25 in a
    decimal-comma CSV) and turns small ones to exponents (1E-9)."""
    import decimal

    import pandas as pd

    out = df
    for j in range(df.shape[1]):
        col = df.iloc[:, j]
        if col.dtype == object and col.map(lambda v: isinstance(v, decimal.Decimal)).any():
            text = col.map(lambda v: format(v, "f").replace(".", mark) if isinstance(v, decimal.Decimal) else v)
            out = out.copy() if out is df else out
            out.isetitem(j, pd.Series(text, index=col.index, dtype=object))
    return out


def parquet_types(src: Path) -> dict | None:
    """A Parquet input's column types, for the output to keep; None for a CSV."""
    if table_format(src, "input") != "parquet":
        return None
    import pyarrow.parquet as pq

    return {f.name: f.type for f in pq.read_schema(src)}
