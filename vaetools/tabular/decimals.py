"""Decimal columns as whole units of their last place, and units back to decimals.

Money and measurements often come as exact decimals: SQL NUMERIC columns (``pd.read_sql`` gives
Python ``decimal.Decimal`` objects), Parquet decimals (Arrow ``decimal128(10, 2)`` columns, as
``dtype_backend="pyarrow"`` reads them), a CSV's prices read by the command line. As floats
they lose that exactness: 0.1 + 0.2 is not 0.3, and a value decoded within a bound lands
between cents. Counted in whole units of their last place (cents for two places), they are
integer columns: imputations are rounded to the column's places, and a compressor's bound under
half a unit gives every value back exactly.

The description is a small JSON-able dict kept in ``ColumnSpec.extra["decimal"]``:
``{"places": the number of decimal places one unit is}``.
"""

from __future__ import annotations

import decimal

import numpy as np
import pandas as pd

from vaetools._checks import is_int

# whole units read as the nearest float of the decimal, times 10**places: three roundings (the
# decimal to a float, 10**places past 10**22, the product), each within 2**-53 of the value, so
# below 2**50 units within 0.375 of the whole number, which rounds back to it. 2**52 let 5% of
# values between 2**51 and 2**52 units round to their neighbour (a .vtz decoded them a cent off
# under a bound of 0.004)
MAX_UNITS = 2**50
# the precision decimals are normalized in: every digit of Arrow's widest decimals (76)
_EXACT = decimal.Context(prec=100)
# places a description may have: Arrow's decimal256 holds up to 76 digits
_MAX_PLACES = 76


def is_arrow_decimal(dtype) -> bool:
    """Whether ``dtype`` is an Arrow decimal (decimal32 to decimal256)."""
    arrow = getattr(dtype, "pyarrow_dtype", None)
    return arrow is not None and hasattr(arrow, "scale") and hasattr(arrow, "precision")


def _python_values(s: pd.Series) -> list:
    """The column's values as Python objects, None where pandas sees a missing value (Arrow's
    nulls, NaN, pd.NA, and Decimal("NaN"), which ``isna`` and so the mask count as missing)."""
    return s.to_numpy(dtype=object, na_value=None).tolist()


def holds_decimals(s: pd.Series) -> bool:
    """Whether ``s`` is a column of decimals: an Arrow decimal dtype, or objects whose observed
    values are all ``decimal.Decimal`` (and at least one is)."""
    if is_arrow_decimal(s.dtype):
        return True
    if s.dtype != object:
        return False
    seen = s.dropna()
    return len(seen) > 0 and all(isinstance(v, decimal.Decimal) for v in seen)


def places_of(v: decimal.Decimal, arrow: bool = False) -> int:
    """The decimal places ``v`` is written with; an Arrow value's trailing zeros (its type's
    scale pads every value to it: decimal(38, 18)) do not count."""
    if arrow:
        v = v.normalize(_EXACT)
    return max(0, -int(v.as_tuple().exponent))


def describe(s: pd.Series) -> dict | None:
    """The description of decimal column ``s`` (``holds_decimals``): its most places among the
    observed values. None where one value cannot be counted exactly (``uncountable``): such a
    column is modelled as floats."""
    places, bad = _count(s)
    return None if bad is not None else {"places": places}


def uncountable(s: pd.Series):
    """The first value of decimal column ``s`` that whole units of its last place cannot count
    exactly in float64 (past ``MAX_UNITS`` units, or Infinity), else None."""
    return _count(s)[1]


def _count(s: pd.Series) -> tuple[int, object]:
    values = [v for v in _python_values(s) if v is not None]
    if not all(isinstance(v, decimal.Decimal) and v.is_finite() for v in values):
        return 0, next(v for v in values if not (isinstance(v, decimal.Decimal) and v.is_finite()))
    arrow = is_arrow_decimal(s.dtype)
    places = [places_of(v, arrow) for v in values]
    most = max(places, default=0)
    if most > _MAX_PLACES:
        return most, values[places.index(most)]
    big = np.flatnonzero(np.abs(np.array([float(v) for v in values])) * 10.0**most >= MAX_UNITS)
    return most, values[big[0]] if big.size else None


def check_description(desc) -> None:
    """Refuse a description ``describe`` could not have written (a damaged or hand-edited
    file): ValueError saying what is wrong."""
    if not isinstance(desc, dict) or set(desc) != {"places"} or not is_int(desc["places"], 0, _MAX_PLACES):
        raise ValueError(f"its decimal description {desc!r} is not one vaetools writes")


def unit(desc: dict) -> float:
    """One unit in the column's own numbers: 0.01 for two places."""
    return 10.0 ** -desc["places"]


def in_words(desc: dict) -> str:
    """For people: "decimals with 2 places, in whole units of 0.01"."""
    return f"decimals with {desc['places']} places, in whole units of {unit(desc):g}"


def to_units(s: pd.Series, desc: dict, name) -> np.ndarray:
    """Column ``s`` in whole units of its last place, float64, NaN where missing. Each value is
    read as the nearest float and scaled; a decimal of the column's places below ``MAX_UNITS``
    units is then within 0.375 of its whole unit, which it is snapped to, so the units are exact.
    Other numbers (floats, where decimals were at fit) are read likewise; a value with more
    places than the column had at fit gives a fractional unit, which a compressor refuses
    (``whole_units``) and an imputer takes as it is."""
    values = _python_values(s) if s.dtype == object else None
    numeric = pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
    if is_arrow_decimal(s.dtype) or numeric:
        numbers = s.to_numpy(dtype=np.float64, na_value=np.nan)
    elif values is not None and all(v is None or isinstance(v, (decimal.Decimal, int, float)) for v in values):
        numbers = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    else:
        raise ValueError(f"column {name!r} held decimals at fit but now holds {s.dtype}; pass it as it was "
                         "at fit, or refit")
    scaled = numbers * 10.0 ** desc["places"]
    whole = np.rint(scaled)  # 1.1 as a float is 110.00000000000001 cents
    return np.where(np.abs(scaled - whole) <= 1e-9 * np.maximum(1.0, np.abs(scaled)), whole, scaled)


def whole_units(s: pd.Series, values: np.ndarray, desc: dict, name) -> None:
    """Refuse a column whose values have more places than at fit, or are not finite: units of
    the fitted places cannot hold them, so no bound could be kept. Decimals are checked
    exactly; ``values`` (``to_units``) are checked for the rest."""
    places = desc["places"]
    odd = None
    if holds_decimals(s):  # (normalized: 100.10 is whole cents, though written with 2 places of 3)
        odd = next((v for v in _python_values(s) if v is not None and
                    (not v.is_finite() or places_of(v.normalize(_EXACT)) > places)), None)
    else:
        seen = values[~np.isnan(values)]
        bad = seen[(seen != np.round(seen)) | ~np.isfinite(seen)]
        if bad.size:
            odd = decimal.Decimal(repr(float(bad[0]))).scaleb(-places).normalize()
    if odd is not None:
        raise ValueError(f"column {name!r} holds {odd} with more than the {places} decimal places it had at fit, "
                         f"or not finite; round it to {places} places, or refit on data that has them")


def from_units(values: np.ndarray, desc: dict, dtype) -> pd.Series:
    """Units back to the column's ``dtype``: Decimal objects with the column's places (an
    object column), or the Arrow decimal type; fractional units are rounded to whole ones,
    as a decimal of that many places holds them. NaN gives a missing value. A column of
    another dtype (floats passed where decimals were at fit) gets its numbers in that dtype."""
    values = np.asarray(values, dtype=np.float64)
    places = desc["places"]
    if dtype != object and not is_arrow_decimal(dtype):
        return pd.Series(np.rint(values) / 10.0**places).astype(dtype)  # (10**places exact: correctly rounded)
    units = [None if np.isnan(v) else decimal.Decimal(int(np.rint(v))).scaleb(-places) for v in values]
    if is_arrow_decimal(dtype):
        import pyarrow as pa

        arrow = dtype.pyarrow_dtype
        try:
            return pd.Series(pd.arrays.ArrowExtensionArray(pa.array(units, type=arrow)))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # past the type's precision: as decimals
            pass
    return pd.Series(units, dtype=object)
