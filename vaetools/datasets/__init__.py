"""Small real datasets shipped with vaetools (see README.md here for sources and licences)."""

from __future__ import annotations

from importlib import resources

import pandas as pd

NAMES = ("abalone", "penguins")


def load(name: str) -> pd.DataFrame:
    """Load a bundled dataset as a DataFrame: ``"abalone"`` or ``"penguins"``."""
    if name not in NAMES:
        raise ValueError(f"unknown dataset {name!r}; available: {NAMES}")
    with resources.files(__name__).joinpath(f"{name}.csv.gz").open("rb") as fh:
        return pd.read_csv(fh, compression="gzip")
