"""Columns a .vtz file stores exactly as they are (``compress(..., passthrough=[...])``).

IDs and free text are not for a VAE, and some users want dates kept exactly, but a file that
drops them is not the user's table. Each chunk holds such a column's values for its rows, serialized without pickle
(UTF-8 text with lengths, or the values' own fixed-width bytes) and compressed with LZMA, whose
long matches suit IDs and repeated text. Missing cells are a bitmap; date and duration values
and integers are stored as differences from the previous row in units of their greatest common
divisor, which are small where the rows are in order (time stamps, IDs). Decoding gives back the same values and the same dtype.
"""

from __future__ import annotations

import lzma
import struct

import numpy as np
import pandas as pd

from vaetools.tabular import labels

_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 6}]
_LENGTH = struct.Struct("<Q")
# the most bytes one chunk of a text column may take: its size field is the only bound on
# what LZMA inflates (it can expand thousands of times), so without a cap a small hostile
# file could make the reader allocate without limit. Writers refuse more, asking for fewer
# rows per chunk; 1 GiB is 16 kB per row at the default 65,536 rows
MAX_TEXT_SECTION_BYTES = 1 << 30


class VerbatimError(ValueError):
    """A section that does not decode to the values its header describes."""


def describe(s: pd.Series, name) -> dict:
    """How column ``name`` is stored: {"kind", "dtype", ...}, JSON for the file's header.
    Refuses, naming the column and the fix, what it cannot give back exactly."""
    t = s.dtype
    if isinstance(t, pd.DatetimeTZDtype):
        tz = str(t.tz)
        try:
            pd.Series(pd.DatetimeIndex([], tz="UTC")).dt.tz_convert(tz)
        except (ValueError, TypeError, KeyError):
            raise ValueError(f"column {name!r}: its time zone {tz!r} cannot be named in a file; convert the "
                             f"column to UTC first (df[{name!r}].dt.tz_convert('UTC'))") from None
        return {"kind": "datetime", "dtype": str(t), "unit": t.unit, "tz": tz}
    if t.kind in "Mm":
        return {"kind": "datetime" if t.kind == "M" else "timedelta", "dtype": str(t),
                "unit": np.datetime_data(t)[0], "tz": None}
    if isinstance(t, pd.CategoricalDtype):
        fix = f"convert the categories (df[{name!r}].astype(str)) to store the column"
        cats = [labels.to_json_or_refuse(c, f"column {name!r} has the category", fix) for c in t.categories]
        return {"kind": "category", "dtype": "category", "categories": cats, "ordered": bool(t.ordered)}
    if pd.api.types.is_bool_dtype(t) or (pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_complex_dtype(t)):
        base = np.dtype(getattr(t, "numpy_dtype", t))
        return {"kind": "number", "dtype": str(t), "base": base.str}
    if pd.api.types.is_object_dtype(t) or pd.api.types.is_string_dtype(t):
        kinds = {type(v) for v in s[s.notna()]}
        if not kinds <= {str}:
            other = sorted(k.__name__ for k in kinds - {str})
            raise ValueError(f"column {name!r} holds values of type {', '.join(other)} beside text, which "
                             f"a file cannot give back as they are; convert them (df[{name!r}].astype(str))")
        return {"kind": "text", "dtype": str(t)}
    raise ValueError(f"column {name!r} has dtype {t}, which a file cannot store as it is; convert it to "
                     "numbers or text")


def _pack(payload: bytes) -> bytes:
    return _LENGTH.pack(len(payload)) + lzma.compress(payload, format=lzma.FORMAT_RAW, filters=_FILTERS)


def _unpack(data: bytes, largest: int | None) -> memoryview:
    """The payload of a section; ``largest``: the most bytes its values can take, so that a
    damaged or hostile size field cannot make the reader allocate more (text: None, capped at
    ``MAX_TEXT_SECTION_BYTES``)."""
    if len(data) < _LENGTH.size:
        raise VerbatimError("section too short")
    (size,) = _LENGTH.unpack_from(data)
    if largest is None and size > MAX_TEXT_SECTION_BYTES:
        raise VerbatimError(f"it states {size:,} bytes of text, more than a chunk may hold "
                            f"({MAX_TEXT_SECTION_BYTES:,}), which vaetools never writes")
    if largest is not None and size > largest:
        raise VerbatimError(f"it states {size} bytes where its values take at most {largest}")
    d = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_FILTERS)
    try:
        payload = d.decompress(data[_LENGTH.size:], max_length=size)
    except lzma.LZMAError as exc:
        raise VerbatimError(str(exc)) from None
    if len(payload) != size:
        raise VerbatimError(f"{len(payload)} bytes where {size} were stated")
    return memoryview(payload)


def _ints(s: pd.Series, desc: dict) -> np.ndarray:
    """Dates (as UTC) or durations as int64 counts of their unit, any value at the missing cells."""
    if desc.get("tz"):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s.to_numpy().view(np.int64)


def _ints_bytes(values: np.ndarray) -> bytes:
    """int64 values as wrapping differences from the one before, in units of their greatest
    common divisor: exact for any values (the sum wraps back the same way), and small where
    they are in order (time stamps, IDs); whole seconds kept as microseconds divide by 1e6."""
    diffs = np.diff(values.astype(np.int64), prepend=np.int64(0))
    unit = int(np.gcd.reduce(diffs)) if diffs.size and diffs.min() > np.iinfo(np.int64).min else 0
    unit = unit if unit > 0 else 1
    return np.int64(unit).astype("<i8").tobytes() + (diffs // unit).astype("<i8").tobytes()


def _ints_from(body: memoryview, k: int) -> np.ndarray:
    if len(body) != 8 * (k + 1):
        raise VerbatimError(f"{len(body)} bytes for {k} integers")
    unit = np.frombuffer(body[:8], dtype="<i8")[0]
    return np.cumsum(np.frombuffer(body[8:], dtype="<i8") * unit)


def encode(s: pd.Series, desc: dict) -> bytes:
    """One chunk of a column (``s``, ``describe``d as ``desc``) as bytes."""
    missing = s.isna().to_numpy()
    parts = [np.packbits(missing).tobytes()]
    kind = desc["kind"]
    if kind == "text":
        raw = [v.encode("utf-8", "surrogatepass") for v in s[~missing]]
        parts += [np.array([len(r) for r in raw], dtype="<u4").tobytes(), b"".join(raw)]
        size = sum(len(p) for p in parts)
        if size > MAX_TEXT_SECTION_BYTES:
            raise ValueError(f"column {s.name!r} holds {size:,} bytes of text in {len(s):,} rows, more than "
                             f"a chunk of a .vtz file may hold ({MAX_TEXT_SECTION_BYTES:,}); compress with "
                             "fewer rows per chunk (chunk_rows=..., command line --chunk-rows)")
    elif kind in ("datetime", "timedelta"):
        parts.append(_ints_bytes(_ints(s, desc)[~missing]))
    elif kind == "category":
        parts.append(s.cat.codes.to_numpy()[~missing].astype("<i4").tobytes())
    elif np.dtype(desc["base"]).kind in "iu":  # uint64 past int64's range wraps, and back
        parts.append(_ints_bytes(s[~missing].to_numpy(dtype=np.dtype(desc["base"]))))
    else:
        parts.append(s[~missing].to_numpy(dtype=np.dtype(desc["base"])).tobytes())
    return _pack(b"".join(parts))


def _largest_value_bytes(desc: dict, n: int) -> int:
    """The most bytes ``encode`` writes for ``n`` values of a column that is not text."""
    if desc["kind"] in ("datetime", "timedelta"):
        return 8 * (n + 1)
    if desc["kind"] == "category":
        return 4 * n
    base = np.dtype(desc["base"])
    return 8 * (n + 1) if base.kind in "iu" else base.itemsize * n


def decode(data: bytes, desc: dict, n: int) -> pd.Series:
    """The ``n`` values of a chunk written by ``encode``, in the column's dtype."""
    head = (n + 7) // 8
    payload = _unpack(data, None if desc["kind"] == "text" else head + _largest_value_bytes(desc, n))
    if len(payload) < head:
        raise VerbatimError("missing-cell bitmap cut short")
    missing = np.unpackbits(np.frombuffer(payload[:head], dtype=np.uint8), count=n).astype(bool)
    body, k = payload[head:], int((~missing).sum())
    kind = desc["kind"]

    def fixed(dtype: np.dtype) -> np.ndarray:
        if len(body) != k * dtype.itemsize:
            raise VerbatimError(f"{len(body)} bytes for {k} values of {dtype}")
        return np.frombuffer(body, dtype=dtype)

    if kind == "text":
        if len(body) < 4 * k:
            raise VerbatimError("text lengths cut short")
        lengths = np.frombuffer(body[:4 * k], dtype="<u4").astype(np.int64)
        blob = bytes(body[4 * k:])
        if int(lengths.sum()) != len(blob):
            raise VerbatimError("text lengths do not add up to the text")
        ends = np.cumsum(lengths)
        values = np.full(n, None, dtype=object)
        values[~missing] = [blob[e - L:e].decode("utf-8", "surrogatepass") for e, L in zip(ends, lengths)]
        out = pd.Series(values, dtype=object)
        return out if desc["dtype"] == "object" else out.astype(desc["dtype"])
    if kind in ("datetime", "timedelta"):
        ints = np.zeros(n, dtype=np.int64)
        ints[~missing] = _ints_from(body, k)
        letter = "M" if kind == "datetime" else "m"
        values = ints.view(f"{letter}8[{desc['unit']}]").copy()
        values[missing] = np.datetime64("NaT") if letter == "M" else np.timedelta64("NaT")
        out = pd.Series(values)
        return out.dt.tz_localize("UTC").dt.tz_convert(desc["tz"]) if desc.get("tz") else out
    if kind == "category":
        codes = np.full(n, -1, dtype=np.int64)
        codes[~missing] = fixed(np.dtype("<i4"))
        if codes.max(initial=-1) >= len(desc["categories"]) or codes.min(initial=0) < -1:
            raise VerbatimError("category code out of range")
        categories = [labels.from_json(c) for c in desc["categories"]]
        return pd.Series(pd.Categorical.from_codes(codes, categories=categories, ordered=desc["ordered"]))
    base = np.dtype(desc["base"])
    if base.kind not in "biuf":  # what describe writes; a header asking for objects is not ours
        raise VerbatimError(f"stored values of dtype {base} are not numbers")
    values = np.zeros(n, dtype=base)
    values[~missing] = _ints_from(body, k).astype(base) if base.kind in "iu" else fixed(base)
    out = pd.Series(values)
    if missing.any():
        if desc["dtype"] == str(base):  # a NumPy float column: NaN in the missing cells
            out = out.astype(np.float64) if base.kind != "f" else out
            out[missing] = np.nan
            return out
        out = out.astype(desc["dtype"])
        out[missing] = pd.NA
        return out
    return out.astype(desc["dtype"])
