import pytest

from rates.table import CURRENCIES, USD_RATES, compute_rate


def test_a_rate_is_the_same_on_every_call_and_close_to_the_reference_mid():
    first = compute_rate("EUR", "USD")
    assert first == 1.08734
    assert compute_rate("EUR", "USD") == first
    mid = USD_RATES["USD"] / USD_RATES["EUR"]
    assert first == pytest.approx(mid, rel=0.005)
    assert first != round(mid, 5), "the tick history nudges the rate"


def test_a_currency_converts_to_itself_at_exactly_one():
    assert all(compute_rate(code, code) == 1.0 for code in CURRENCIES)
