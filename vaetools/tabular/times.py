"""Date-time, period and duration columns as numbers the model can take, and imputed numbers back.

A column of dates is modelled as an integer column: whole steps of its finest resolution (days,
hours, minutes, seconds, ...) since its earliest observed value, so that an imputed date of a
date-only column is a date, not a date at 07:13:22.5. Durations count from zero, where a spike
(many zero durations) and right skew mean something. A time-zone aware column is modelled on its
wall-clock times in the zone it had at fit, so that local midnights stay midnights; imputed times
that fall in a daylight-saving gap move forward, and those in a repeated hour take standard time.
A period column (months, quarters, ...) counts its periods since its first observed one. Times
of day (Python ``datetime.time`` objects, as polars' Time and Parquet's time64 reach pandas, or
Arrow time32/time64 columns) count steps since the start of their day, imputed within the day.
A day starts at midnight unless the observed times leave a longer gap elsewhere: bedtimes from
22:00 to 02:00 start their day at 22:00 (the first time after the gap, from 02:00 to 22:00), so
that 23:59 and 00:01 are two minutes apart, not a day, and imputed bedtimes fall among them.

The description is a small JSON-able dict kept in ``ColumnSpec.extra["time"]``:
``{"kind": "datetime", "duration", "period" or "timeofday", "unit": the dtype's tick ("s", "ms", "us" or
"ns"; for periods the dtype, "period[M]"), "step": ticks per modelled unit, "origin": ticks of the
modelled 0 (for times of day, since midnight), "tz": the time zone or None}``.
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd

from vaetools._checks import is_int

_NS_PER_TICK = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
# the resolutions tried, coarsest first, in nanoseconds, with their names
_STEP_NAMES = {86_400 * 10**9: "day", 3_600 * 10**9: "hour", 60 * 10**9: "minute", 10**9: "second",
               10**6: "millisecond", 10**3: "microsecond", 1: "nanosecond"}
# their short names, as pd.Timedelta and the command line's --error-bound read them (64ns, 1h)
_SHORT_NAMES = {"day": "days", "hour": "h", "minute": "min", "second": "s", "millisecond": "ms",
                "microsecond": "us", "nanosecond": "ns"}


_DAY_NS = 86_400 * 10**9


def step_name(time: dict) -> str:
    """The modelled step in words, for people: "dates in steps of a day"."""
    if time["kind"] == "period":
        return f"periods ({time['unit']}) counted one by one"
    what = {"datetime": "dates and times", "duration": "durations", "timeofday": "times of day"}[time["kind"]]
    zone = f" ({time['tz']} wall clock)" if time.get("tz") else ""
    start = ""
    if time["kind"] == "timeofday" and time["origin"]:
        start = f", the day starting at {_clock(time['origin'] * _NS_PER_TICK[time['unit']])}"
    return f"{what} in steps of a {_STEP_NAMES[time['step'] * _NS_PER_TICK[time['unit']]]}{zone}{start}"


def duration_text(ns: float) -> str:
    """``ns`` nanoseconds in the largest of ``_STEP_NAMES`` it holds whole: "64 ns", "1.5 h"."""
    size = next((n for n in _STEP_NAMES if abs(ns) >= n), 1)
    return f"{ns / size:g} {_SHORT_NAMES[_STEP_NAMES[size]]}"


def _clock(ns: int) -> str:
    """Nanoseconds since midnight as a time of day: 22:00, 06:30:15."""
    seconds = ns // 10**9
    text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}"
    return text + (f":{seconds % 60:02d}" if seconds % 60 else "")


def check_description(time, dtype) -> None:
    """Refuse a time description that ``describe`` could not have written for a column of
    ``dtype`` (a damaged or hand-edited file), before anything computes with it: ValueError
    saying what is wrong."""
    if not isinstance(time, dict) or set(time) != {"kind", "unit", "step", "origin", "tz"} or \
            time["kind"] not in ("datetime", "duration", "period", "timeofday"):
        raise ValueError(f"its time description {time!r} is not one vaetools writes")
    unit, step, origin, tz = time.get("unit"), time.get("step"), time.get("origin"), time.get("tz")
    ints = all(is_int(v) for v in (step, origin))
    if time["kind"] == "period":
        ok = isinstance(unit, str) and unit.startswith("period[") and step == 1
    else:
        ok = isinstance(unit, str) and unit in _NS_PER_TICK and ints and step > 0 and step * _NS_PER_TICK[unit] in _STEP_NAMES
    if not (ok and ints and (tz is None or isinstance(tz, str))):
        raise ValueError(f"its time description {time!r} is not one vaetools writes")
    if time["kind"] == "timeofday":
        if not 0 <= origin < _DAY_NS // _NS_PER_TICK[unit] or tz is not None or \
                not (dtype == object or _is_arrow_time(dtype)):
            raise ValueError(f"its time description {time!r} does not fit its dtype {dtype}")
        return
    kind = _kind(dtype) if is_time(dtype) else None
    if kind != time["kind"] or (kind == "period" and str(dtype) != unit) or \
            (kind == "datetime" and _zone(dtype) != tz):
        raise ValueError(f"its time description {time!r} does not fit its dtype {dtype}")


def numpy_time_dtype(dtype):
    """The NumPy-backed dtype of an Arrow timestamp, date or duration dtype (as
    ``pd.read_parquet(..., dtype_backend="pyarrow")`` gives them), whose values pandas' ``.dt``
    and ``asi8`` take; any other dtype as it is. An Arrow date is a datetime64 at its midnight."""
    arrow = getattr(dtype, "pyarrow_dtype", None)
    if arrow is None:
        return dtype
    import pyarrow as pa

    if pa.types.is_timestamp(arrow):
        return pd.DatetimeTZDtype(arrow.unit, arrow.tz) if arrow.tz else np.dtype(f"datetime64[{arrow.unit}]")
    if pa.types.is_date32(arrow) or pa.types.is_date64(arrow):
        return np.dtype("datetime64[s]" if pa.types.is_date32(arrow) else "datetime64[ms]")
    if pa.types.is_duration(arrow):
        return np.dtype(f"timedelta64[{arrow.unit}]")
    return dtype


def _numpy_backed(s: pd.Series) -> pd.Series:
    dtype = numpy_time_dtype(s.dtype)
    return s if dtype is s.dtype else s.astype(dtype)


def _is_arrow_time(dtype) -> bool:
    arrow = getattr(dtype, "pyarrow_dtype", None)
    if arrow is None:
        return False
    import pyarrow as pa

    return pa.types.is_time(arrow)


def is_time_of_day(s: pd.Series, empty: bool = False) -> bool:
    """Times of day: an Arrow time32/time64 column, or an object column whose values are all
    ``datetime.time`` without a time zone (``empty``: or that has none)."""
    if _is_arrow_time(s.dtype):
        return True
    if s.dtype != object:
        return False
    seen = s.dropna()
    return (empty or len(seen) > 0) and all(type(v) is datetime.time and v.tzinfo is None for v in seen)


def _day_ticks(s: pd.Series) -> tuple[np.ndarray, np.ndarray, str]:
    """Ticks since midnight of a time-of-day column, whether each cell is observed, and the
    tick's unit (microseconds for Python times, the Arrow type's own)."""
    observed = s.notna().to_numpy()
    if _is_arrow_time(s.dtype):
        import pyarrow as pa

        arrow = s.dtype.pyarrow_dtype
        whole = pa.int32() if pa.types.is_time32(arrow) else pa.int64()
        ticks = s.astype(pd.ArrowDtype(whole)).to_numpy(dtype=np.int64, na_value=0)
        return ticks, observed, arrow.unit
    ticks = np.array([((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000 + v.microsecond if seen else 0
                      for v, seen in zip(s.to_numpy(), observed)], dtype=np.int64)
    return ticks, observed, "us"


def _times_of_day(ticks: np.ndarray, unit: str, missing: np.ndarray, dtype) -> pd.Series:
    """Ticks since midnight (``unit``) as ``dtype``: Arrow times in their unit, else Python times."""
    ns = np.clip(ticks, 0, _DAY_NS // _NS_PER_TICK[unit] - 1) * _NS_PER_TICK[unit]
    if _is_arrow_time(dtype):
        import pyarrow as pa

        arrow = dtype.pyarrow_dtype
        whole = pa.int32() if pa.types.is_time32(arrow) else pa.int64()
        own = np.minimum(np.rint(ns / _NS_PER_TICK[arrow.unit]), _DAY_NS // _NS_PER_TICK[arrow.unit] - 1)
        return pd.Series(pa.array(own.astype(np.int64), mask=missing).cast(whole).cast(arrow), dtype=dtype)
    micros = np.minimum(np.rint(ns / 1_000), _DAY_NS // 1_000 - 1).astype(np.int64)
    seconds, micro = np.divmod(micros, 1_000_000)
    minutes, second = np.divmod(seconds, 60)
    hour, minute = np.divmod(minutes, 60)
    return pd.Series([None if gone else datetime.time(int(h), int(m), int(sec), int(u))
                      for h, m, sec, u, gone in zip(hour, minute, second, micro, missing)], dtype=object)


def is_time(dtype) -> bool:
    """Dates and times (naive or time-zone aware), periods or durations."""
    dtype = numpy_time_dtype(dtype)
    return pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype) or \
        isinstance(dtype, pd.PeriodDtype)


def _kind(dtype) -> str:
    dtype = numpy_time_dtype(dtype)
    if isinstance(dtype, pd.PeriodDtype):
        return "period"
    return "duration" if pd.api.types.is_timedelta64_dtype(dtype) else "datetime"


def _zone(dtype) -> str | None:
    tz = getattr(numpy_time_dtype(dtype), "tz", None)
    return None if tz is None else str(tz)


def _wall_ticks(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer ticks of the column's unit (wall-clock time where it has a time zone) and
    whether each cell is observed."""
    s = _numpy_backed(s)
    if _zone(s.dtype) is not None:
        s = s.dt.tz_localize(None)
    return np.asarray(s.array.asi8), s.notna().to_numpy()


def instants_ns(s: pd.Series) -> np.ndarray:
    """A time-zone aware column's instants, in nanoseconds since 1970 UTC (int64; NaT as its
    minimum): what its wall clock does not tell apart in the hour a clock change repeats."""
    s = _numpy_backed(s)
    return np.asarray(s.dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("ns").array.asi8)


def describe(s: pd.Series) -> dict:
    """The time description of column ``s`` (see the module docstring), from its observed cells."""
    if is_time_of_day(s):
        ticks, observed, unit = _day_ticks(s)
        seen = ticks[observed]
        return {"kind": "timeofday", "unit": unit, "step": _coarsest_step(seen, unit), "origin": _day_start(seen, unit),
                "tz": None}
    s = _numpy_backed(s)
    ticks, observed = _wall_ticks(s)
    ticks = ticks[observed]
    if isinstance(s.dtype, pd.PeriodDtype):  # ticks are the periods' ordinals
        return {"kind": "period", "unit": str(s.dtype), "step": 1, "origin": int(ticks.min()) if ticks.size else 0,
                "tz": None}
    unit = s.dt.unit
    kind = _kind(s.dtype)
    origin = 0 if kind == "duration" or ticks.size == 0 else int(ticks.min())
    return {"kind": kind, "unit": unit, "step": _coarsest_step(ticks, unit), "origin": origin, "tz": _zone(s.dtype)}


def _day_start(ticks: np.ndarray, unit: str) -> int:
    """Where a column of times of day starts its day: midnight (0), unless the longest gap
    between observed times (on the clock's circle) is elsewhere; then the first time after it."""
    seen = np.unique(ticks)
    if seen.size < 2:
        return 0
    gaps = np.diff(np.append(seen, seen[0] + _DAY_NS // _NS_PER_TICK[unit]))  # the last: across midnight
    longest = int(np.argmax(gaps))
    return 0 if gaps[-1] >= gaps[longest] else int(seen[longest + 1])


def _coarsest_step(ticks: np.ndarray, unit: str) -> int:
    """Ticks in the coarsest of ``_STEP_NAMES`` (a day, an hour, ...) that every value is a
    whole number of."""
    for ns in _STEP_NAMES:
        if ns % _NS_PER_TICK[unit] == 0 and np.all(np.mod(ticks, ns // _NS_PER_TICK[unit]) == 0):
            return int(ns // _NS_PER_TICK[unit])
    return 1


def check_like_fit(s: pd.Series, time: dict | None, name) -> None:
    """Refuse a column whose kind of values differs from fit's: dates where there were numbers
    would be read as nanoseconds, numbers where there were dates as nonsense."""
    dtype = s.dtype
    then = None if time is None else time["kind"]
    now = _kind(dtype) if is_time(dtype) else "timeofday" if is_time_of_day(s, empty=then == "timeofday") else None
    if now == then == "period" and str(dtype) != time["unit"]:
        raise ValueError(f"column {name!r} held {time['unit']} at fit but now holds {dtype}; convert it with "
                         f".dt.asfreq, or refit")
    if now != then:
        what = {None: "numbers or categories", "datetime": "dates and times", "duration": "durations",
                "period": "periods", "timeofday": "times of day"}
        raise ValueError(f"column {name!r} held {what[then]} at fit but now holds {what[now]} ({dtype}); "
                         "pass it as it was at fit, or refit")
    if then == "datetime" and (time["tz"] is None) != (_zone(dtype) is None):
        raise ValueError(f"column {name!r} was {'naive' if time['tz'] is None else 'in time zone ' + time['tz']} "
                         f"at fit but is {dtype} now; convert it with .dt.tz_localize or .dt.tz_convert")


def to_units(s: pd.Series, time: dict) -> np.ndarray:
    """Column ``s`` (checked with ``check_like_fit``) in modelled units, float64, NaN where
    missing."""
    if time["kind"] == "timeofday":  # in the fitted unit, whatever this column's own, from the day's start
        ticks, observed, unit = _day_ticks(s)
        fitted = ticks * (_NS_PER_TICK[unit] / _NS_PER_TICK[time["unit"]])
        values = np.mod(fitted - time["origin"], _DAY_NS // _NS_PER_TICK[time["unit"]]) / time["step"]
        values[~observed] = np.nan
        return values
    s = _numpy_backed(s)
    if time["tz"] is not None:
        s = s.dt.tz_convert(time["tz"])
    ticks, observed = _wall_ticks(s if time["kind"] == "period" else s.dt.as_unit(time["unit"]))
    values = _steps_from(ticks, time["origin"], time["step"])
    values[~observed] = np.nan
    return values


def _steps_from(ticks: np.ndarray, origin: int, step: int) -> np.ndarray:
    """(ticks - origin) / step in float64, exact for whole steps below 2**53: the difference and
    the division taken in integers first. Ticks turned into floats before the difference lost
    what float64 cannot hold of them: a timestamp of 2024 is 1.7e18 nanoseconds, where float64
    steps by 256, so a .vtz bounded at 1 ns decoded them up to 238 ns off."""
    rough = ticks.astype(np.float64) - float(origin)
    near = np.abs(rough) < 2.0**62  # the integer difference cannot overflow int64
    whole, rest = np.divmod(np.where(near, ticks, origin) - np.int64(origin), np.int64(step))
    return np.where(near, whole.astype(np.float64) + rest / step, rough / step)


def from_units(values: np.ndarray, time: dict, dtype) -> pd.Series:
    """Modelled units back to the column's ``dtype``, rounded to whole ticks; NaN gives NaT."""
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    if time["kind"] == "timeofday":  # within the day that starts at the origin, back to the clock's
        day = _DAY_NS // _NS_PER_TICK[time["unit"]]
        since_start = np.clip(np.rint(np.where(missing, 0.0, values) * time["step"]), 0, day - 1).astype(np.int64)
        return _times_of_day(np.mod(since_start + time["origin"], day), time["unit"], missing, dtype)
    if missing.any():
        return _series_from_units(np.where(missing, 0.0, values), time, dtype).mask(missing)
    return _series_from_units(values, time, dtype)


def _series_from_units(values: np.ndarray, time: dict, dtype) -> pd.Series:
    offsets = np.rint(values * time["step"])
    if np.all(np.abs(offsets) < 2.0**62):  # exact: whole steps from the origin, in integers
        ticks = offsets.astype(np.int64) + int(time["origin"])
    else:  # a range of more than 2**62 ticks (centuries in nanoseconds): to within float64's grain
        limit = np.nextafter(2.0**63, 0)
        ticks = np.clip(offsets + float(time["origin"]), -limit, limit).astype(np.int64)
    unit = time["unit"]
    if time["kind"] == "period":
        return pd.Series(pd.arrays.PeriodArray(ticks, dtype=dtype))
    if time["kind"] == "duration":
        return pd.Series(ticks.astype(f"timedelta64[{unit}]")).astype(dtype)
    out = pd.Series(ticks.astype(f"datetime64[{unit}]"))
    if time["tz"] is not None:
        out = out.dt.tz_localize(time["tz"], ambiguous=np.zeros(len(out), dtype=bool),
                                 nonexistent="shift_forward")
    return out.astype(dtype)
