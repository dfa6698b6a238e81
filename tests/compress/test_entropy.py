import numpy as np
import pytest

from vaetools.compress.entropy import GaussianLatents, Histogram, Laplace, fit_symbol_model, symbol_model_from_dict


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
