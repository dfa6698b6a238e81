"""Polars DataFrames in and out. The estimators work on pandas; a polars user hands them a polars
DataFrame and gets one back with the same columns and dtypes, where converting through NumPy (as
scikit-learn does with frames it does not know) would give every column the object dtype.

No pyarrow is needed (polars' own ``to_pandas`` requires it), and polars is imported only when
the caller's data is already a polars DataFrame.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd


def is_polars(X) -> bool:
    pl = sys.modules.get("polars")
    return pl is not None and isinstance(X, pl.DataFrame)


def as_pandas(X):
    """X as a pandas DataFrame if it is a polars one; anything else as it is."""
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(X, pl.LazyFrame):
        raise TypeError("X is a polars LazyFrame, a query rather than a table; pass X.collect()")
    if not is_polars(X):
        return X
    return pd.DataFrame({s.name: _series_to_pandas(s) for s in X.iter_columns()})


def _series_to_pandas(s) -> pd.Series:
    """One column, nulls as pandas' missing values: integers and booleans in pandas' nullable
    dtypes (a null does not turn them into floats), Enum and Categorical as category, String as
    text; Decimal as Python decimals (modelled exactly, ``tabular.decimals``); a time-zone aware Datetime in its
    zone (NumPy's view is UTC). Dates, durations and the rest keep NumPy's view."""
    import polars as pl

    dtype = s.dtype
    missing = s.is_null().to_numpy()
    if dtype.is_integer():
        values = s.fill_null(0).to_numpy()
        return pd.Series(pd.arrays.IntegerArray(values, missing))
    if dtype == pl.Boolean:
        return pd.Series(pd.arrays.BooleanArray(s.fill_null(False).to_numpy(), missing))
    if dtype.is_float():
        return pd.Series(s.to_numpy())  # nulls come out as NaN
    if dtype.is_decimal():
        return pd.Series(s.to_list(), dtype=object)
    if isinstance(dtype, (pl.Enum, pl.Categorical)):
        text = s.cast(pl.String)
        categories = dtype.categories.to_list() if isinstance(dtype, pl.Enum) else \
            text.drop_nulls().unique().sort().to_list()
        return pd.Series(pd.Categorical(text.to_list(), categories=categories))
    if dtype == pl.String:
        return pd.Series(np.array(s.to_list(), dtype=object))
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        return pd.Series(s.to_numpy()).dt.tz_localize("UTC").dt.tz_convert(dtype.time_zone)
    return pd.Series(s.to_numpy())


def to_polars(frame: pd.DataFrame, schema: dict | None = None):
    """``frame`` as a polars DataFrame; each column cast to its dtype in ``schema`` (the input's,
    by name) where it has one and the cast holds, as the input's Int32 stays Int32 and its Enum
    keeps its categories."""
    import polars as pl

    columns = []
    for j, name in enumerate(frame.columns):
        col = frame.iloc[:, j]
        s = _series_to_polars(str(name), col)
        target = (schema or {}).get(name)
        if target is not None and s.dtype != target:
            try:
                s = s.cast(target)
            except (pl.exceptions.PolarsError, TypeError, ValueError):
                pass  # e.g. a column all missing at fit, kept and filled with 0
        columns.append(s)
    return pl.DataFrame(columns)


def _series_to_polars(name: str, col: pd.Series):
    import polars as pl

    dtype = col.dtype
    categorical = isinstance(dtype, pd.CategoricalDtype)  # bool categories count as bool dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return _time_to_polars(name, col)
    if not categorical and (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
        if not col.isna().any():
            return pl.Series(name, col.to_numpy(dtype=np.dtype(getattr(dtype, "numpy_dtype", dtype))))
        if pd.api.types.is_float_dtype(dtype):
            return pl.Series(name, col.to_numpy(dtype=np.float64, na_value=np.nan), nan_to_null=True)
    # categories, text, and integers or booleans with missing cells: Python values, None missing
    s = pl.Series(name, col.astype(object).where(col.notna(), None).to_list())
    return s.cast(pl.Categorical) if categorical and s.dtype == pl.String else s


def _time_to_polars(name: str, col: pd.Series):
    """Dates and durations through NumPy (NaT is null there), in a unit polars takes; a time
    zone travels as UTC and is put back."""
    import polars as pl

    zone = getattr(col.dtype, "tz", None)
    if zone is not None:
        col = col.dt.tz_convert("UTC").dt.tz_localize(None)
    if col.dt.unit == "s":
        col = col.dt.as_unit("ms")
    s = pl.Series(name, col.to_numpy())
    return s if zone is None else s.dt.replace_time_zone("UTC").dt.convert_time_zone(str(zone))
