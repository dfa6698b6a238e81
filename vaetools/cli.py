"""The ``vaetools`` command line: impute (and, as they land, compress / decompress / info)."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


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


def read_table(path: Path):
    import pandas as pd

    fmt = _format_of(path, "input")
    if not path.exists():
        raise CLIError(f"input {path} does not exist")
    try:
        return pd.read_csv(path) if fmt == "csv" else pd.read_parquet(path)
    except ImportError as exc:
        raise CLIError(f"reading Parquet needs pyarrow: pip install pyarrow ({exc})") from None
    except Exception as exc:  # parse errors of every kind: report, do not trace back
        raise CLIError(f"could not read {path}: {exc}") from None


def check_destination(out: Path, inputs: list[Path], overwrite: bool) -> None:
    for src in inputs:
        if out.resolve() == src.resolve():
            raise CLIError(f"output {out} is the input file; choose another path (vaetools never "
                           "overwrites its input)")
    if out.exists() and not overwrite:
        raise CLIError(f"output {out} exists; pass --overwrite to replace it")
    if not out.parent.exists():
        raise CLIError(f"output folder {out.parent} does not exist")


def write_table(df, path: Path) -> None:
    fmt = _format_of(path, "output")
    tmp = path.with_name(path.name + ".partial")
    try:
        if fmt == "csv":
            df.to_csv(tmp, index=False, compression="infer" if path.suffix != ".csv" else None)
        else:
            df.to_parquet(tmp, index=False)
        tmp.replace(path)
    except ImportError as exc:
        raise CLIError(f"writing Parquet needs pyarrow: pip install pyarrow ({exc})") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def cmd_impute(args) -> int:
    from vaetools import VAEImputer

    src, out = Path(args.input), Path(args.output)
    _format_of(out, "output")
    check_destination(out, [src], args.overwrite)
    if args.save_model:
        check_destination(Path(args.save_model), [src, out], args.overwrite)
    df = read_table(src)
    if args.drop:
        unknown = [c for c in args.drop if c not in df.columns]
        if unknown:
            raise CLIError(f"--drop names columns not in {src}: {unknown}")
    dropped = df[args.drop] if args.drop else None
    data = df.drop(columns=args.drop) if args.drop else df
    if args.model:
        imputer = VAEImputer.load(args.model)
        print(f"vaetools: loaded model {args.model}", file=sys.stderr)
    else:
        imputer = VAEImputer(latent_dim=args.latent_dim, max_epochs=args.epochs or "auto", n_draws=args.draws,
                             n_imputation_draws=args.imputation_draws, device=args.device,
                             random_state=args.seed, verbose=0 if args.quiet else 1)
        n_missing = int(data.isna().sum().sum())
        print(f"vaetools: fitting on {len(data)} rows x {data.shape[1]} columns "
              f"({n_missing} missing cells)", file=sys.stderr)
        imputer.fit(data)
    filled = imputer.transform(data)
    if dropped is not None:
        for c in args.drop:
            filled.insert(df.columns.get_loc(c), c, dropped[c])
    write_table(filled, out)
    if args.save_model:
        imputer.save(args.save_model, overwrite=args.overwrite)
        print(f"vaetools: model saved to {args.save_model}", file=sys.stderr)
    print(f"vaetools: wrote {out}", file=sys.stderr)
    return 0


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
    p.add_argument("--latent-dim", type=int, default=8)
    p.add_argument("--epochs", type=int, default=None,
                   help="most training epochs (default: from the table's size; early stopping ends sooner)")
    p.add_argument("--draws", type=int, default=5, help="importance samples per row in training")
    p.add_argument("--imputation-draws", type=int, default=20, help="importance samples per row when imputing")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace OUT (never IN) if it exists")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_impute)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            return args.func(args)
    except CLIError as exc:
        print(f"vaetools {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, FileExistsError, FileNotFoundError) as exc:
        print(f"vaetools {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
