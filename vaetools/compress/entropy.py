"""Entropy models for the .vtz codec, on top of constriction's ANS coder.

Kept apart from the networks (as in CompressAI): each model turns integer symbols into a
uint32 word stream and back, given parameters that the file stores in its header.
"""

from __future__ import annotations

import constriction
import numpy as np

from vaetools._checks import is_int, is_number

_model = constriction.stream.model
_AnsCoder = constriction.stream.stack.AnsCoder


def _to_bytes(words: np.ndarray) -> bytes:
    return np.asarray(words, dtype="<u4").tobytes()


def _from_bytes(data: bytes) -> np.ndarray:
    if len(data) % 4:
        raise ValueError("entropy-coded section has a length that is not a multiple of 4 bytes")
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


# constriction gives each symbol of a model at most 2**24 - 1 wide a probability, and panics on a
# wider one. A wider alphabet (a tiny error bound or quantization: 1e-8 of a column's range is
# 1e8 steps) is coded as its coarse part, 2**16 values at most, under the model scaled down by
# 2**shift, then the ``shift`` bits below it as uniform digits of at most 16 bits. (A coarse part
# nearly as wide as the coder takes would cost ~4% more: its probabilities near 2**-24 lose
# precision.) An alphabet within the limit is coded as before, so those files are the same to
# the byte
_MAX_WIDTH = (1 << 24) - 2  # high - low of the widest model constriction takes
_COARSE_BITS = 16


def _shift(low: int, high: int) -> int:
    return 0 if high - low <= _MAX_WIDTH else (high - low).bit_length() - _COARSE_BITS


def is_split(d: dict) -> bool:
    """Whether the model ``to_dict`` wrote as ``d`` codes its symbols split (``_push_ranged``),
    which readers of .vtz format 8 and older cannot decode."""
    low, high = (d["laplace"][2], d["laplace"][3]) if "laplace" in d else (d.get("low", 0), d.get("high"))
    return high is not None and _shift(low, high) > 0


def _digit_bits(shift: int) -> list[int]:
    return [min(16, shift - b) for b in range(0, shift, 16)]


def _push_ranged(coder, symbols: np.ndarray, low: int, high: int, coarse) -> None:
    """Push int64 ``symbols`` in [low, high]; ``coarse(shift)`` gives the model and its
    arguments for the coarse part (the symbols themselves when shift is 0)."""
    shift = _shift(low, high)
    offset = symbols - low
    for b, bits in zip(range(0, shift, 16), _digit_bits(shift)):
        coder.encode_reverse(((offset >> b) & ((1 << bits) - 1)).astype(np.int32), _model.Uniform(1 << bits))
    model, args = coarse(shift)
    part = symbols if shift == 0 else offset >> shift
    coder.encode_reverse(part.astype(np.int32), model, *args)


def _pop_ranged(coder, n: int, low: int, high: int, coarse) -> np.ndarray:
    """Inverse of ``_push_ranged``: ``n`` symbols."""
    shift = _shift(low, high)
    model, args = coarse(shift)
    part = coder.decode(model, *args) if args else coder.decode(model, n)
    if shift == 0:
        return part.astype(np.int64)
    value = part.astype(np.int64) << shift
    for b, bits in reversed(list(zip(range(0, shift, 16), _digit_bits(shift)))):
        value |= coder.decode(_model.Uniform(1 << bits), n).astype(np.int64) << b
    return value + low


def _gaussian(low: int, high: int, mean: np.ndarray, std: np.ndarray, min_std: float):
    """``coarse`` for a Gaussian with per-symbol ``mean`` and ``std`` over [low, high]."""
    def coarse(shift: int):
        if shift == 0:
            return _model.QuantizedGaussian(low, high), (mean, std)
        scale = float(1 << shift)
        return (_model.QuantizedGaussian(0, (high - low) >> shift),
                ((mean - low) / scale, np.maximum(std / scale, min_std)))
    return coarse


class GaussianLatents:
    """Quantized latents y (integers) under a per-dimension Gaussian prior N(mean_d, std_d),
    both in units of the quantization step."""

    def __init__(self, mean: np.ndarray, std: np.ndarray, low: int, high: int):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.maximum(np.asarray(std, dtype=np.float64), 1e-3)
        self.low, self.high = int(low), int(high)

    def _params(self, n_rows: int):
        return np.tile(self.mean, n_rows), np.tile(self.std, n_rows)

    def encode(self, y: np.ndarray) -> bytes:
        if y.size == 0:
            return b""
        coder = _AnsCoder()
        coarse = _gaussian(self.low, self.high, *self._params(y.shape[0]), 1e-3)
        _push_ranged(coder, np.asarray(y, dtype=np.int64).reshape(-1), self.low, self.high, coarse)
        return _to_bytes(coder.get_compressed())

    def decode(self, data: bytes, n_rows: int) -> np.ndarray:
        d = self.mean.size
        if n_rows == 0 or d == 0:
            return np.zeros((n_rows, d), dtype=np.int64)
        coder = _AnsCoder(_from_bytes(data))
        coarse = _gaussian(self.low, self.high, *self._params(n_rows), 1e-3)
        return _pop_ranged(coder, n_rows * d, self.low, self.high, coarse).reshape(n_rows, d)


class _Stacked:
    """A static model's own stream, from its ``push`` and ``pop`` on a coder of its own; the
    two also let several models share one stream (``FactorizedLatents``)."""

    def encode(self, symbols: np.ndarray) -> bytes:
        coder = _AnsCoder()
        self.push(coder, symbols)
        return _to_bytes(coder.get_compressed()) if not coder.is_empty() else b""

    def decode(self, data: bytes, n: int) -> np.ndarray:
        return self.pop(_AnsCoder(_from_bytes(data)), n)


class FactorizedLatents:
    """Quantized latents y (integers) under one static model per dimension fitted to the codes
    themselves (a histogram, or a Laplace where its table costs more; ``fit_symbol_model``),
    for files where that is smaller than the learned Gaussian prior: the codes a trained
    encoder emits are not Gaussian (adult at 1%: 2 of 8 dimensions used, 7 values each;
    3.918 -> 3.796 bits a row)."""

    def __init__(self, models: list):
        self.models = list(models)

    @classmethod
    def fit(cls, y: np.ndarray) -> "FactorizedLatents":
        return cls([fit_symbol_model(y[:, d]) for d in range(y.shape[1])])

    def to_dict(self) -> dict:
        return {"models": [m.to_dict() for m in self.models]}

    @classmethod
    def from_dict(cls, d: dict) -> "FactorizedLatents":
        return cls([symbol_model_from_dict(m) for m in d["models"]])

    def encode(self, y: np.ndarray) -> bytes:
        coder = _AnsCoder()
        for d in reversed(range(len(self.models))):  # a stack: dimension 0 pops first
            self.models[d].push(coder, y[:, d])
        return _to_bytes(coder.get_compressed()) if not coder.is_empty() else b""

    def decode(self, data: bytes, n_rows: int) -> np.ndarray:
        coder = _AnsCoder(_from_bytes(data))
        cols = [m.pop(coder, n_rows) for m in self.models]
        return np.stack(cols, axis=1) if cols else np.zeros((n_rows, 0), dtype=np.int64)


class Histogram(_Stacked):
    """Integer symbols under a static empirical distribution over the values seen at encode time.

    ``values`` (sorted) and ``counts`` go in the file header; encoding a value that is not in
    ``values`` is an error, since the table is built from exactly the data being encoded."""

    def __init__(self, values, counts):
        self.values = np.asarray(values, dtype=np.int64)
        self.counts = np.asarray(counts, dtype=np.float64)

    @classmethod
    def fit(cls, symbols: np.ndarray) -> "Histogram":
        values, counts = np.unique(np.asarray(symbols, dtype=np.int64), return_counts=True)
        return cls(values, counts)

    def to_dict(self) -> dict:
        return {"values": self.values.tolist(), "counts": self.counts.astype(np.int64).tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Histogram":
        return cls(d["values"], d["counts"])

    def push(self, coder, symbols: np.ndarray) -> None:
        """Encode ``symbols`` onto ``coder`` (a stack: what is pushed last pops first)."""
        symbols = np.asarray(symbols, dtype=np.int64).reshape(-1)
        if symbols.size == 0 or self.values.size <= 1:
            return  # a single possible value costs nothing
        idx = np.searchsorted(self.values, symbols)
        if np.any(idx >= self.values.size) or np.any(self.values[np.minimum(idx, self.values.size - 1)] != symbols):
            raise ValueError("symbol outside the histogram's alphabet")
        coder.encode_reverse(idx.astype(np.int32), _model.Categorical(self.counts / self.counts.sum(), perfect=False))

    def pop(self, coder, n: int) -> np.ndarray:
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        if self.values.size == 1:
            return np.full(n, self.values[0], dtype=np.int64)
        if self.values.size == 0:
            raise ValueError("cannot decode symbols from an empty histogram")
        return self.values[coder.decode(_model.Categorical(self.counts / self.counts.sum(), perfect=False), n)]


class Laplace(_Stacked):
    """Integer symbols under a quantized Laplace(mean, scale) on [low, high]: four numbers in the
    header, for wide residual alphabets where a histogram table would cost more than it saves."""

    def __init__(self, mean: float, scale: float, low: int, high: int):
        self.mean, self.scale = float(mean), max(float(scale), 1e-3)
        self.low, self.high = int(low), int(high)

    @classmethod
    def fit(cls, symbols: np.ndarray) -> "Laplace":
        s = np.asarray(symbols, dtype=np.int64)
        if s.size == 0:
            return cls(0.0, 1.0, -1, 1)
        med = float(np.median(s))
        return cls(med, float(np.mean(np.abs(s - med))) + 0.1, min(int(s.min()), -1), max(int(s.max()), 1))

    def to_dict(self) -> dict:
        return {"laplace": [self.mean, self.scale, self.low, self.high]}

    def _coarse(self, shift: int):
        if shift == 0:
            return _model.QuantizedLaplace(self.low, self.high, self.mean, self.scale), ()
        scale = float(1 << shift)
        return _model.QuantizedLaplace(0, (self.high - self.low) >> shift, (self.mean - self.low) / scale,
                                       max(self.scale / scale, 1e-3)), ()

    def push(self, coder, symbols: np.ndarray) -> None:
        """Encode ``symbols`` onto ``coder`` (a stack: what is pushed last pops first)."""
        symbols = np.asarray(symbols, dtype=np.int64).reshape(-1)
        if symbols.size == 0:
            return
        if symbols.min() < self.low or symbols.max() > self.high:
            raise ValueError("symbol outside the Laplace model's range")
        _push_ranged(coder, symbols, self.low, self.high, self._coarse)

    def pop(self, coder, n: int) -> np.ndarray:
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        return _pop_ranged(coder, n, self.low, self.high, self._coarse)


class GivenBits:
    """0/1 symbols under one of two Bernoulli tables, picked per row by the bit another stream
    (``given``) decoded for that row: the missing-cell marks of a column that tends to be
    missing where an earlier column is (a survey's skipped section), which then cost almost
    nothing after the first."""

    def __init__(self, given: str, counts):
        self.given = str(given)
        self.counts = np.asarray(counts, dtype=np.float64).reshape(2, 2)  # [given bit][own bit]

    @classmethod
    def fit(cls, given: str, symbols: np.ndarray, context: np.ndarray) -> "GivenBits":
        counts = np.zeros((2, 2))
        np.add.at(counts, (np.asarray(context, dtype=np.int64), np.asarray(symbols, dtype=np.int64)), 1)
        return cls(given, counts)

    def to_dict(self) -> dict:
        return {"given": self.given, "counts": self.counts.astype(np.int64).tolist()}

    def _probs(self, context: np.ndarray) -> np.ndarray:
        table = self.counts + 0.5  # a pair never seen still decodes
        return (table / table.sum(axis=1, keepdims=True))[np.asarray(context, dtype=np.int64)]

    def encode(self, symbols: np.ndarray, context: np.ndarray) -> bytes:
        symbols = np.asarray(symbols, dtype=np.int64).reshape(-1)
        if symbols.size == 0:
            return b""
        if symbols.min() < 0 or symbols.max() > 1:
            raise ValueError("GivenBits codes 0/1 symbols only")
        return CellCategorical(0, 1).encode(symbols, self._probs(context))

    def decode(self, data: bytes, context: np.ndarray) -> np.ndarray:
        return CellCategorical(0, 1).decode(data, self._probs(context))


def choose_given_bits(bits: dict[str, np.ndarray], min_saving_bits: float = 128.0) -> dict[str, GivenBits]:
    """For each 0/1 stream in ``bits`` (in coding order), the earlier stream that its bits are
    cheapest to code given, where that saves at least ``min_saving_bits`` over coding them
    alone. Costs are empirical entropies from one matrix product of the streams' co-occurrences,
    so thousands of columns stay cheap."""
    names = list(bits)
    if len(names) < 2:
        return {}
    m = np.stack([bits[k] for k in names], axis=1).astype(np.float64)  # (n, streams)
    n = m.shape[0]
    both = m.T @ m  # both[p, j]: rows where p and j are 1
    ones = np.diag(both).copy()

    def bits_of(c0, c1):  # cost of coding c0 zeros and c1 ones under their own frequencies
        tot = c0 + c1
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -(np.where(c0 > 0, c0 * np.log2(c0 / tot), 0.0) + np.where(c1 > 0, c1 * np.log2(c1 / tot), 0.0))
        return np.nan_to_num(h)

    alone = bits_of(n - ones, ones)
    out = {}
    for j in range(1, len(names)):
        p = np.arange(j)
        c11 = both[p, j]
        c10 = ones[p] - c11  # given 1, own 0
        c01 = ones[j] - c11  # given 0, own 1
        c00 = n - ones[p] - c01
        cost = bits_of(c00, c01) + bits_of(c10, c11)
        best = int(np.argmin(cost))
        if alone[j] - cost[best] >= min_saving_bits:
            out[names[j]] = GivenBits.fit(names[best], bits[names[j]], bits[names[best]])
    return out


def header_bytes(model) -> int:
    """About what a model's table adds to the (deflated) header: half its JSON."""
    import json

    return len(json.dumps(model.to_dict())) // 2


def fit_symbol_model(symbols: np.ndarray):
    """The cheaper of a histogram and a Laplace model for these symbols, table cost included."""
    hist = Histogram.fit(symbols)
    if hist.values.size <= 16:
        return hist
    lap = Laplace.fit(symbols)
    if hist.values.size >= 1 << 22:  # a table too large to pay (and past 2**24 too large to code)
        return lap
    cost_hist = len(hist.encode(symbols)) + header_bytes(hist)
    cost_lap = len(lap.encode(symbols)) + 24
    return lap if cost_lap < cost_hist else hist


def _is_symbol(v) -> bool:
    return is_int(v, -(2**62) + 1, 2**62 - 1)  # int64, with room


def _are_counts(v, n: int | None = None) -> bool:
    a = np.asarray(v, dtype=object).reshape(-1) if isinstance(v, list) else None
    return a is not None and (n is None or a.size == n) and all(is_number(c) and c >= 0 for c in a)


def symbol_model_from_dict(d: dict):
    """The model ``to_dict`` wrote. One whose numbers no writer writes is refused with a
    ValueError before it allocates or reaches the coder: a forged range made the reader
    allocate terabytes, and a reversed one panicked inside constriction."""
    if not isinstance(d, dict):
        raise ValueError(f"a symbol model is not one vaetools writes: {str(d)[:100]}")
    low, high = d.get("low", 0), d.get("high")
    if d.get("decoder") == "categorical" and _is_symbol(low) and \
            (high is None or (_is_symbol(high) and 0 <= high - low < MAX_TABLE_SYMBOLS)):
        return CellCategorical(low, high)
    if d.get("decoder") == "gaussian" and _is_symbol(low) and _is_symbol(high) and low <= high:
        return CellGaussian(low, high)
    if "decoder" not in d and isinstance(d.get("given"), str) and _are_counts(d.get("counts"), 4):
        return GivenBits(d["given"], d["counts"])
    lap = d.get("laplace")
    if "decoder" not in d and isinstance(lap, list) and len(lap) == 4 and is_number(lap[0]) and is_number(lap[1]) \
            and lap[1] > 0 and _is_symbol(lap[2]) and _is_symbol(lap[3]) and lap[2] <= lap[3]:
        return Laplace(*lap)
    values, counts = d.get("values"), d.get("counts")
    if set(d) == {"values", "counts"} and isinstance(values, list) and all(_is_symbol(v) for v in values) \
            and all(a < b for a, b in zip(values, values[1:])) and _are_counts(counts, len(values)) \
            and (len(values) <= 1 or sum(counts) > 0):
        return Histogram.from_dict(d)
    raise ValueError(f"a symbol model is not one vaetools writes: {str(d)[:100]}")


# ---------------------------------------------------------------------------- per-cell models
# The decoder gives every cell its own distribution; coding each symbol under it costs what the
# model was trained to minimize. Parameters are rounded to a 2^-20 grid before use, so that a
# last-bit difference in the decoder's float arithmetic on another machine cannot change the
# coder's fixed-point tables unless it straddles a grid point.

_GRID = float(2 ** 20)


def _on_grid(x: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(x, dtype=np.float64) * _GRID) / _GRID


# the widest alphabet coded with a probability table per cell; wider residuals get a Gaussian
# per cell (codec._cell_model), and a reader refuses a wider table
MAX_TABLE_SYMBOLS = 256


class CellCategorical:
    """Each symbol under its own row of probabilities over ``low, low + 1, ...``: ranks of
    categorical values (0 is the decoder's most probable value, rows sorted in decreasing
    order), or residual bins of numeric cells with the decoder's mass in each bin."""

    def __init__(self, low: int = 0, high: int | None = None):
        self.low, self.high = int(low), None if high is None else int(high)

    @classmethod
    def fit(cls, symbols: np.ndarray) -> "CellCategorical":
        s = np.asarray(symbols, dtype=np.int64)
        return cls(int(s.min()) if s.size else 0, int(s.max()) if s.size else 0)

    def to_dict(self) -> dict:
        return {"decoder": "categorical", "low": self.low, "high": self.high}

    @staticmethod
    def _probs(probs: np.ndarray) -> np.ndarray:
        p = np.maximum(_on_grid(probs), 1.0 / _GRID)
        return p / p.sum(axis=1, keepdims=True)

    def encode(self, symbols: np.ndarray, probs: np.ndarray) -> bytes:
        symbols = np.asarray(symbols, dtype=np.int64).reshape(-1)
        if symbols.size == 0:
            return b""
        idx = symbols - self.low
        if idx.min() < 0 or idx.max() >= probs.shape[1]:
            raise ValueError("symbol outside the per-cell model's range")
        if probs.shape[1] == 1:
            return b""  # a single possible value costs nothing
        coder = _AnsCoder()
        coder.encode_reverse(idx.astype(np.int32), _model.Categorical(perfect=False), self._probs(probs))
        return _to_bytes(coder.get_compressed())

    def decode(self, data: bytes, probs: np.ndarray) -> np.ndarray:
        if len(probs) == 0 or probs.shape[1] == 1:
            return np.full(len(probs), self.low, dtype=np.int64)
        coder = _AnsCoder(_from_bytes(data))
        return coder.decode(_model.Categorical(perfect=False), self._probs(probs)).astype(np.int64) + self.low


class CellGaussian:
    """Each integer symbol under its own quantized Gaussian (mean, std in symbol units) on
    [low, high]: residuals of numeric cells around the decoder's prediction."""

    MIN_STD = 0.1

    def __init__(self, low: int, high: int):
        self.low, self.high = int(low), int(high)

    @classmethod
    def fit(cls, symbols: np.ndarray) -> "CellGaussian":
        s = np.asarray(symbols, dtype=np.int64)
        return cls(min(int(s.min()), -1) if s.size else -1, max(int(s.max()), 1) if s.size else 1)

    def to_dict(self) -> dict:
        return {"decoder": "gaussian", "low": self.low, "high": self.high}

    def _params(self, mean, std):
        return _on_grid(mean), np.maximum(_on_grid(std), self.MIN_STD)

    def encode(self, symbols: np.ndarray, mean: np.ndarray, std: np.ndarray) -> bytes:
        symbols = np.asarray(symbols, dtype=np.int64).reshape(-1)
        if symbols.size == 0:
            return b""
        if symbols.min() < self.low or symbols.max() > self.high:
            raise ValueError("symbol outside the Gaussian model's range")
        coder = _AnsCoder()
        _push_ranged(coder, symbols, self.low, self.high, self._coarse(mean, std))
        return _to_bytes(coder.get_compressed())

    def decode(self, data: bytes, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        if len(mean) == 0:
            return np.zeros(0, dtype=np.int64)
        coder = _AnsCoder(_from_bytes(data))
        return _pop_ranged(coder, len(mean), self.low, self.high, self._coarse(mean, std))

    def _coarse(self, mean, std):
        mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)

        def coarse(shift: int):  # scaled before the grid, so that both sides round the same numbers
            if shift == 0:
                return _model.QuantizedGaussian(self.low, self.high), self._params(mean, std)
            scale = float(1 << shift)
            return (_model.QuantizedGaussian(0, (self.high - self.low) >> shift),
                    self._params((mean - self.low) / scale, std / scale))
        return coarse
