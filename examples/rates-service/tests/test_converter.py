from typing import List, Tuple

import pytest

from rates.converter import Converter, InvalidRequest


class CountingRate:
    """A fast stand-in for the slow rate table that records every pair it computes."""

    def __init__(self) -> None:
        self.computed: List[Tuple[str, str]] = []

    def __call__(self, source: str, target: str) -> float:
        self.computed.append((source, target))
        return 2.0


def test_converts_with_the_pair_rate_rounded_half_even_to_cents():
    converter = Converter()
    assert converter.convert("EUR", "USD", "12.5") == {
        "from": "EUR",
        "to": "USD",
        "amount": 12.5,
        "rate": 1.08734,
        "result": 13.59,
    }
    assert Converter(rate=lambda s, t: 0.5).convert("USD", "EUR", "0.05")["result"] == 0.02  # 0.025 -> 0.02
    assert Converter(rate=lambda s, t: 0.5).convert("USD", "EUR", "0.07")["result"] == 0.04  # 0.035 -> 0.04


def test_converts_a_query_string():
    converter = Converter(rate=lambda s, t: 3.0)
    result = converter.convert_query({"from": ["GBP"], "to": ["JPY"], "amount": ["2"]})
    assert (result["rate"], result["result"]) == (3.0, 6.0)


@pytest.mark.parametrize(
    "query, message",
    [
        ({"to": ["USD"], "amount": ["1"]}, "missing query parameter from"),
        ({"from": ["EUR"], "to": ["USD"]}, "missing query parameter amount"),
        ({"from": ["EUR", "GBP"], "to": ["USD"], "amount": ["1"]}, "query parameter from given 2 times"),
        ({"from": ["eur"], "to": ["USD"], "amount": ["1"]}, 'from must be one of AUD CAD CHF EUR GBP JPY SEK USD, got "eur"'),
        ({"from": ["EUR"], "to": ["XYZ"], "amount": ["1"]}, 'to must be one of AUD CAD CHF EUR GBP JPY SEK USD, got "XYZ"'),
        ({"from": ["EUR"], "to": ["USD"], "amount": ["-1"]}, 'amount must be a decimal number from 0 to 1000000000'),
        ({"from": ["EUR"], "to": ["USD"], "amount": ["nan"]}, 'got "nan"'),
        ({"from": ["EUR"], "to": ["USD"], "amount": ["1e3"]}, 'got "1e3"'),
        ({"from": ["EUR"], "to": ["USD"], "amount": ["1_000"]}, 'got "1_000"'),
        ({"from": ["EUR"], "to": ["USD"], "amount": ["1.1234567"]}, "at most 6 decimal places"),
        ({"from": ["EUR"], "to": ["USD"], "amount": ["1000000000.01"]}, 'got "1000000000.01"'),
        ({"from": ["EUR"], "to": ["USD"], "amount": ["12\n"]}, 'got "12?"'),
    ],
)
def test_refuses_bad_input_with_a_message_that_says_why(query, message):
    counting = CountingRate()
    with pytest.raises(InvalidRequest) as refused:
        Converter(rate=counting).convert_query(query)
    assert message in str(refused.value)
    assert counting.computed == [], "nothing is computed for a refused request"


def test_without_a_cache_every_conversion_computes_its_rate():
    counting, lookups = CountingRate(), []
    converter = Converter(cache_size=0, rate=counting, on_lookup=lookups.append)
    for _ in range(3):
        converter.convert("EUR", "USD", "1")
    assert counting.computed == [("EUR", "USD")] * 3
    assert lookups == ["miss"] * 3


def test_with_a_cache_each_pair_is_computed_once():
    counting, lookups = CountingRate(), []
    converter = Converter(cache_size=10, rate=counting, on_lookup=lookups.append)
    for source, target in [("EUR", "USD"), ("USD", "EUR"), ("EUR", "USD"), ("USD", "EUR")]:
        converter.convert(source, target, "1")
    assert counting.computed == [("EUR", "USD"), ("USD", "EUR")], "a pair and its inverse are two entries"
    assert lookups == ["miss", "miss", "hit", "hit"]


def test_the_cache_drops_the_least_recently_used_pair_when_full():
    counting = CountingRate()
    converter = Converter(cache_size=2, rate=counting)
    for source in ["EUR", "GBP", "EUR", "JPY", "EUR", "GBP"]:
        converter.convert(source, "USD", "1")
    # EUR stays (used again before JPY came), GBP was dropped for JPY and has to be computed again.
    assert counting.computed == [("EUR", "USD"), ("GBP", "USD"), ("JPY", "USD"), ("GBP", "USD")]


def test_same_currency_needs_no_rate():
    counting, lookups = CountingRate(), []
    assert Converter(rate=counting, on_lookup=lookups.append).convert("CHF", "CHF", "7.25")["result"] == 7.25
    assert counting.computed == [] and lookups == []
