"""The ``vaetools`` sub-commands (impute, compress, decompress, info) and their flags."""

from __future__ import annotations

import argparse
import shlex
import sys
import warnings
from pathlib import Path

import numpy as np

from vaetools.cli.tables import (DECIMAL_MARKS, SEPARATORS, STYLE_KEYS, CLIError, CSVStyle, check_destination,
                                 input_style, parquet_types, read_table, table_format, write_table)
from vaetools.cli.text_columns import (CSV_FLOAT_KEY, DATE_FORMAT_KEY, DECIMAL_PLACES_KEY, FRACTION_DIGITS_KEY,
                                       NUMBER_TEXT_KEY, by_column, dates_as_datetimes, dates_as_text, dates_to_parse,
                                       datetimes_as_dates, decimals_as_numbers, float_texts, floats_as_decimals,
                                       floats_as_text, fraction_digits, numbers_as_decimals, numbers_as_text,
                                       parse_dates, parse_numbers, strftime, units_as_decimals)

NA_HELP = ("more values that mark a missing cell, e.g. --na-values '?' -999 (empty fields, NA, N/A, "
           "null and NaN already do)")
NUMBERS_HELP = ("columns of numbers written with a currency or percent sign or grouped thousands ($1,234.50, "
                "51.3%%, 1.234,50 €), read as numbers; a CSV gets them back written the same way")


def cmd_impute(args) -> int:
    from vaetools import VAEImputer
    from vaetools.tabular.schema import NestedValuesError, UnmodelledColumnError

    src, out = Path(args.input), Path(args.output)
    table_format(out, "output")
    check_destination(out, [src], args.overwrite)
    if args.save_model:
        check_destination(Path(args.save_model), [src, out], args.overwrite)
    style = input_style(src)  # a CSV is read, and written back, in its own style
    df = read_table(src, args.na_values, style)
    saved = VAEImputer.load(args.model) if args.model else None
    dates_found = parse_dates(df, dates_to_parse(args.dates, saved, df), src, args.date_order)
    numbers_found = parse_numbers(df, args.numbers, src, style)
    decimals, python_dates = decimals_as_numbers(df, saved), dates_as_datetimes(df)
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
        if args.precision is not None:
            imputer.set_params(inference_precision=args.precision)
    else:
        imputer = VAEImputer(latent_dim=args.latent_dim, max_epochs=args.epochs or "auto", n_draws=args.draws,
                             n_imputation_draws=args.imputation_draws, device=args.device,
                             inference_precision=args.precision or "auto",
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
    filled = datetimes_as_dates(numbers_as_decimals(filled, decimals, rows), python_dates, rows)
    if table_format(out, "output") == "csv":  # dates and numbers as they came; Parquet keeps them typed
        filled = numbers_as_text(dates_as_text(filled, dates_found, rows), numbers_found, rows)
        if style is not None:  # a CSV in, a CSV out: its float columns as written
            filled = floats_as_text(filled, float_texts(src, df, style), style, rows)
    write_table(filled, out, args.overwrite, style=style or CSVStyle(), arrow_types=parquet_types(src))
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


def _parse_advice(exc, verb: str) -> str:
    """How the command line's flags model the columns of ``exc`` (an UnmodelledColumnError) that
    hold dates, times or numbers written as text."""
    out = ""
    if exc.date_columns:
        out += f"to {verb} {_them(exc.date_columns)} as dates or times, add --dates {_words(exc.date_columns)}; "
    if exc.number_columns:
        out += f"to {verb} {_them(exc.number_columns)} as numbers, add --numbers {_words(exc.number_columns)}; "
    return out


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
    style = input_style(src)  # kept in the file, for decompress to write the CSV back as it came
    df = read_table(src, args.na_values, style)
    unknown = [c for c in args.passthrough if c not in df.columns]
    if unknown:
        raise CLIError(f"--passthrough names columns not in {src}: {unknown}")
    saved = VAECompressor.load(args.model) if args.model else None
    dates_found = parse_dates(df, dates_to_parse(args.dates, saved, df), src, args.date_order)
    numbers_found = parse_numbers(df, args.numbers, src, style)
    decimals_as_numbers(df, saved)  # those the compressor cannot count in whole units of their last place
    # (before the CSV's floats are read as decimals, which it need not scan: they are countable)
    written_floats = floats_as_decimals(df, float_texts(src, df, style), style, args.passthrough, saved) \
        if style is not None else []
    dates_as_datetimes(df)  # Parquet's date32: decompress gives datetime64 (a CSV: YYYY-MM-DD)
    if saved is not None:
        comp = saved
        print(f"vaetools: loaded model {args.model}", file=sys.stderr)
        # the bound the model was fitted for, unless one is asked for: any bound is guaranteed
        bound = "fit" if args.error_bound is None else _parse_bound(args.error_bound)
    else:
        comp = VAECompressor(latent_dim=args.latent_dim, rate_weight=args.rate_weight, quantization=args.quantization,
                             error_bound=_parse_bound(args.error_bound or "0.01"),
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
    kept |= {FRACTION_DIGITS_KEY + str(c): str(d) for c, (fmt, text) in dates_found.items()
             if (d := fraction_digits(fmt, text)) is not None}
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
    table_format(out, "output")
    check_destination(out, [src], args.overwrite)
    rows = None
    if args.rows:
        try:
            start, stop = (int(v) if v else None for v in args.rows.split(":"))
        except ValueError:
            raise CLIError(f"--rows {args.rows!r}: use START:STOP, e.g. 100:200") from None
        rows = slice(start, stop)
    csv = table_format(out, "output") == "csv"
    kept = file_metadata(src) if src.exists() else {}  # what compress kept of the input's form
    style = _decompressed_style(kept, args.sep, args.decimal) if csv else CSVStyle()
    df = decompress(src, rows=rows)
    # files of vaetools before decimals in .vtz (format 10): whole units back to decimals
    for c, places in by_column(kept, DECIMAL_PLACES_KEY).items():
        if c in df.columns and pd.api.types.is_integer_dtype(df[c]) and places.isdigit():
            df[c] = units_as_decimals(df[c], int(places))
    for c in by_column(kept, CSV_FLOAT_KEY) if not csv else ():  # a CSV's float column: floats in Parquet
        if c in df.columns and df[c].map(lambda v: isinstance(v, decimal.Decimal) or pd.isna(v)).all():
            df[c] = pd.to_numeric(df[c]).astype("Float64")
    for c, text in (by_column(kept, NUMBER_TEXT_KEY) if csv else {}).items():  # --numbers likewise
        fmt = NumberText.from_json(text)
        if c in df.columns and fmt is not None and df[c].map(lambda v: isinstance(v, decimal.Decimal) or pd.isna(v)).all():
            df[c] = df[c].map(lambda v: None if pd.isna(v) else fmt.write(v)).astype(object)
    dates = by_column(kept, DATE_FORMAT_KEY) if csv else {}  # --dates as the CSV had them
    digits = by_column(kept, FRACTION_DIGITS_KEY)
    for c, fmt in dates.items():
        if c in df.columns and (pd.api.types.is_datetime64_any_dtype(df[c]) or is_time_of_day(df[c])):
            df[c] = strftime(df[c], fmt, int(digits[c]) if str(digits.get(c, "")).isdigit() else None)
    # row labels the file kept (a DataFrame's index) go out as the first columns; row numbers do not
    labelled = not isinstance(df.index, pd.RangeIndex) or any(n is not None for n in df.index.names)
    write_table(df, out, args.overwrite, index=labelled, style=style)
    print(f"vaetools: wrote {out} ({len(df)} rows)", file=sys.stderr)
    return 0


def _decompressed_style(kept: dict, sep: str | None, decimal: str | None) -> CSVStyle:
    """The CSV style decompress writes: as asked, else that of the CSV the file was made from
    (``kept``: its metadata), else commas and points."""
    if sep is None:
        sep = kept.get(STYLE_KEYS["sep"]) if kept.get(STYLE_KEYS["sep"]) in SEPARATORS else ","
    if decimal is None:
        decimal = kept.get(STYLE_KEYS["decimal"]) if kept.get(STYLE_KEYS["decimal"]) in DECIMAL_MARKS else "."
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
    places = {c: int(v) for c, v in by_column(facts["metadata"], DECIMAL_PLACES_KEY).items() if v.isdigit()}
    for name in list(kinds):  # decimal columns the command line coded in whole units (format 10 files)
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
        counts = facts["times"].get(name) or facts["decimals"].get(name)  # what a date's or decimal's kind counts
        print(f"  {str(name):24s} {kind}" + (f": {counts}" if counts else ""))
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
    p.add_argument("--precision", choices=["auto", "float32", "bfloat16"], default=None,
                   help="the decoder's precision when imputing: auto (the default, or the saved model's) is "
                        "bfloat16 on a CPU with bfloat16 matrix instructions, ~1.7x as fast; float32 gives "
                        "the same values on every machine up to rounding")
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
    p.add_argument("--decimal", choices=DECIMAL_MARKS, default=None,
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
