"""The ``vaetools`` command line: impute, compress, decompress, info.

``commands`` holds the sub-commands and their flags; ``tables`` reads and writes CSV and Parquet
files in the user's style; ``text_columns`` reads columns written for people (dates, $1,234.50,
1.080) as typed values and writes them back as they came."""

from vaetools.cli.commands import build_parser, main
from vaetools.cli.tables import CLIError, CSVStyle, csv_style, read_table, write_table

__all__ = ["CLIError", "CSVStyle", "build_parser", "csv_style", "main", "read_table", "write_table"]
