import numpy as np
import pytest

from vaetools.compress.entropy import (CellCategorical, CellGaussian, GaussianLatents, GivenBits, Histogram, Laplace,
                                      choose_given_bits, fit_symbol_model, symbol_model_from_dict)


@pytest.mark.parametrize("symbols", [np.array([3, 3, 3]), np.array([0, 1, 1, 0, 1]),
                                     np.random.default_rng(0).integers(-40, 40, 2000)])
def test_histogram_round_trip_and_header_form(symbols):
    h = Histogram.fit(symbols)
    back = symbol_model_from_dict(h.to_dict()).decode(h.encode(symbols), symbols.size)
    np.testing.assert_array_equal(back, symbols)


def test_laplace_round_trip_and_is_chosen_for_wide_alphabets():
    rng = np.random.default_rng(1)
    symbols = np.rint(rng.laplace(0, 30, 5000)).astype(np.int64)
    model = fit_symbol_model(symbols)
    assert isinstance(model, Laplace)
    again = symbol_model_from_dict(model.to_dict())
    np.testing.assert_array_equal(again.decode(model.encode(symbols), symbols.size), symbols)
    # close to the entropy of the source: a Laplace(b=30) has ~7.1 bits per quantized symbol
    assert len(model.encode(symbols)) * 8 / symbols.size < 7.6


def test_gaussian_latents_round_trip_and_rate():
    rng = np.random.default_rng(2)
    y = np.rint(rng.normal(0, 4, (1000, 3))).astype(np.int64)
    model = GaussianLatents(np.zeros(3), np.full(3, 4.0), int(y.min()), int(y.max()))
    data = model.encode(y)
    np.testing.assert_array_equal(model.decode(data, 1000), y)
    assert len(data) * 8 / y.size < 4.2  # entropy of a unit-step quantized N(0, 4^2) is ~4.05 bits


def test_symbols_outside_the_model_are_refused():
    h = Histogram.fit(np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="alphabet"):
        h.encode(np.array([4]))
    with pytest.raises(ValueError, match="range"):
        Laplace(0, 1, -2, 2).encode(np.array([5]))


def test_per_cell_categorical_round_trip_costs_the_model_entropy():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.full(6, 0.3), size=3000)
    symbols = np.array([rng.choice(6, p=p) for p in probs]) - 2  # an alphabet starting at -2
    model = CellCategorical(-2, 3)
    assert CellCategorical.fit(np.array([-2, 0, 3])).to_dict() == model.to_dict()
    again = symbol_model_from_dict(model.to_dict())
    data = model.encode(symbols, probs)
    np.testing.assert_array_equal(again.decode(data, probs), symbols)
    ideal = -np.log2(probs[np.arange(len(symbols)), symbols + 2]).sum()
    assert len(data) * 8 < ideal * 1.01 + 64


def test_per_cell_gaussian_round_trip_and_rate():
    rng = np.random.default_rng(4)
    mean, std = rng.normal(0, 3, 4000), rng.uniform(0.5, 4, 4000)
    symbols = np.rint(rng.normal(mean, std)).astype(np.int64)
    model = CellGaussian.fit(symbols)
    again = symbol_model_from_dict(model.to_dict())
    data = model.encode(symbols, mean, std)
    np.testing.assert_array_equal(again.decode(data, mean, std), symbols)
    # each symbol costs about the entropy of its own quantized Gaussian, log2(std) + 2.05 bits
    assert len(data) * 8 / symbols.size < np.mean(np.log2(std)) + 2.05 + 0.1
    with pytest.raises(ValueError, match="range"):
        model.encode(np.array([model.high + 1]), np.zeros(1), np.ones(1))


def test_per_cell_categorical_with_one_possible_value_costs_nothing():
    model = CellCategorical(7, 7)
    probs = np.ones((5, 1))
    assert model.encode(np.full(5, 7), probs) == b""
    np.testing.assert_array_equal(model.decode(b"", probs), np.full(5, 7))


def test_bits_coded_given_an_earlier_stream_cost_what_they_add():
    rng = np.random.default_rng(3)
    n = 5000
    a = (rng.random(n) < 0.2).astype(np.int64)
    flips = (rng.random(n) < 0.002).astype(np.int64)
    streams = {"mask/0": a, "mask/1": (rng.random(n) < 0.3).astype(np.int64),
               "mask/2": a ^ flips, "mask/3": 1 - a}  # mostly with a, independent, exactly against a
    chosen = choose_given_bits(streams)
    assert {k: m.given for k, m in chosen.items()} == {"mask/2": "mask/0", "mask/3": "mask/0"}
    for name, model in chosen.items():
        again = symbol_model_from_dict(model.to_dict())
        data = model.encode(streams[name], streams[model.given])
        np.testing.assert_array_equal(again.decode(data, streams[model.given]), streams[name])
    alone = len(Histogram.fit(streams["mask/2"]).encode(streams["mask/2"]))  # ~0.72 bits a row
    given = len(chosen["mask/2"].encode(streams["mask/2"], a))  # ~0.02 bits a row
    assert given < 0.1 * alone
    assert isinstance(symbol_model_from_dict(chosen["mask/3"].to_dict()), GivenBits)


def test_factorized_latents_round_trip_and_constant_dimensions_cost_nothing():
    from vaetools.compress.entropy import FactorizedLatents

    rng = np.random.default_rng(0)
    y = np.stack([np.zeros(500, dtype=np.int64), rng.choice([-3, 0, 2], 500, p=[0.2, 0.7, 0.1]),
                  np.rint(rng.laplace(0, 20, 500)).astype(np.int64)], axis=1)
    model = FactorizedLatents.fit(y)
    data = model.encode(y)
    again = FactorizedLatents.from_dict(model.to_dict())
    np.testing.assert_array_equal(again.decode(data, 500), y)
    only_constant = FactorizedLatents.fit(y[:, :1])
    assert only_constant.encode(y[:, :1]) == b""
    np.testing.assert_array_equal(only_constant.decode(b"", 500), y[:, :1])


@pytest.mark.parametrize("width_bits", [24, 31, 40])
def test_alphabets_wider_than_the_coder_takes_round_trip(width_bits):
    """constriction gives probabilities to at most 2**24 - 1 symbols and panicked past that: a
    relative error bound of 1e-8 or a quantization of 1e-7 made such alphabets. They are coded
    as a coarse part under the model and uniform low bits, at about the model's rate."""
    rng = np.random.default_rng(width_bits)
    n, spread = 3000, 2.0 ** (width_bits - 3)
    low, high = -(2 ** (width_bits - 1)), 2 ** (width_bits - 1) - 1
    mean = rng.normal(0, spread, n)
    std = np.full(n, spread / 4)
    sym = np.clip(np.rint(mean + rng.normal(0, 1, n) * std), low, high).astype(np.int64)
    cell = CellGaussian(low, high)
    data = cell.encode(sym, mean, std)
    np.testing.assert_array_equal(cell.decode(data, mean, std), sym)
    ideal_bits = n * (np.log2(spread / 4 * np.sqrt(2 * np.pi * np.e)))  # the Gaussian's entropy in steps
    assert 8 * len(data) < 1.01 * ideal_bits + 64
    lap = Laplace.fit(sym)
    np.testing.assert_array_equal(lap.decode(lap.encode(sym), n), sym)
    latents = GaussianLatents(np.zeros(4), np.full(4, spread), low, high)
    y = np.clip(np.rint(rng.normal(0, spread, (n // 4, 4))), low, high).astype(np.int64)
    np.testing.assert_array_equal(latents.decode(latents.encode(y), n // 4), y)
    model = fit_symbol_model(sym)
    np.testing.assert_array_equal(model.decode(model.encode(sym), n), sym)


def test_alphabets_the_coder_takes_are_coded_as_constriction_codes_them():
    """Within 2**24 symbols nothing changed: files written before read the same."""
    import constriction

    rng = np.random.default_rng(1)
    mean, std = rng.normal(0, 50, 500), np.full(500, 20.0)
    sym = np.rint(mean + rng.normal(0, 20, 500)).astype(np.int64)
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse(sym.astype(np.int32), constriction.stream.model.QuantizedGaussian(-1000, 1000),
                         np.round(mean * 2**20) / 2**20, np.maximum(np.round(std * 2**20) / 2**20, 0.1))
    assert CellGaussian(-1000, 1000).encode(sym, mean, std) == coder.get_compressed().astype("<u4").tobytes()
