"""Column names and category values in JSON and back.

Saved estimators (.vtm) and compressed files (.vtz) describe their table in JSON, whose values
are text, numbers, booleans and null. A table's labels can be more: tuples (the column names of
a DataFrame with MultiIndex columns), and as categories pandas Periods, Intervals (``pd.cut``),
Timestamps and Timedeltas. Each of those is written as a one-key object that names its type and
read back as the same value. JSON turns tuples into lists, and a label is never a list, so lists
read back as tuples: files written before this module with tuple names read right too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def to_json(value):
    """``value`` as JSON can hold it; TypeError for a value no file can hold."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, tuple):
        return {"tuple": [to_json(v) for v in value]}
    if isinstance(value, pd.Period):
        return {"period": str(value), "freq": value.freqstr}
    if isinstance(value, pd.Interval):
        return {"interval": [to_json(value.left), to_json(value.right)], "closed": value.closed}
    if isinstance(value, pd.Timestamp):  # before datetime: a Timestamp is one
        return {"timestamp": value.isoformat()}
    if isinstance(value, pd.Timedelta):
        return {"timedelta_ns": int(value.value)}
    raise TypeError(f"{value!r} (of type {type(value).__name__})")


def to_json_or_refuse(value, what: str, fix: str):
    """``to_json(value)``, or a ValueError that names ``what`` holds the value and says ``fix``:
    for callers that know which column or name the value belongs to."""
    try:
        return to_json(value)
    except TypeError as exc:
        raise ValueError(f"{what} {exc}, which a file cannot hold; {fix}") from None


def from_json(value):
    """The label ``to_json`` wrote as ``value``."""
    if isinstance(value, list):
        return tuple(from_json(v) for v in value)
    if not isinstance(value, dict):
        return value
    if "tuple" in value:
        return tuple(from_json(v) for v in value["tuple"])
    if "period" in value:
        return pd.Period(value["period"], freq=value["freq"])
    if "interval" in value:
        left, right = (from_json(v) for v in value["interval"])
        return pd.Interval(left, right, closed=value["closed"])
    if "timestamp" in value:
        return pd.Timestamp(value["timestamp"])
    if "timedelta_ns" in value:
        return pd.Timedelta(int(value["timedelta_ns"]), unit="ns")
    raise ValueError(f"not a label written by vaetools: {value!r}")
