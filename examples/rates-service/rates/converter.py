"""Conversions: validates a request, finds the pair's rate (cached or computed), converts.

Amounts and results are decimal: the result is the amount times the rate, rounded half to even to
2 decimal places, so one input always gives the same answer.
"""

import re
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Callable, Dict, Mapping, Optional, Sequence, Union

from .cache import LruCache
from .table import CURRENCIES, compute_rate

#: Largest amount accepted.
MAX_AMOUNT = Decimal("1000000000")

_AMOUNT = re.compile(r"[0-9]{1,10}(\.[0-9]{1,6})?")
_CENTS = Decimal("0.01")


class InvalidRequest(ValueError):
    """A conversion request the service refuses (HTTP 400); the message says why."""


Result = Dict[str, Union[str, float]]


class Converter:
    def __init__(
        self,
        cache_size: int = 0,
        rate: Callable[[str, str], float] = compute_rate,
        on_lookup: Optional[Callable[[str], None]] = None,
    ) -> None:
        """``rate`` computes a pair's rate; ``on_lookup`` hears "hit" or "miss" for every cache lookup."""
        self._cache: LruCache = LruCache(cache_size)
        self._rate = rate
        self._on_lookup = on_lookup

    def convert_query(self, query: Mapping[str, Sequence[str]]) -> Result:
        """Converts what a query string asks for (``from``, ``to``, ``amount``, each exactly once)."""
        values = {}
        for name in ("from", "to", "amount"):
            given = query.get(name, [])
            if len(given) == 0:
                raise InvalidRequest(f"missing query parameter {name} (example: /convert?from=EUR&to=USD&amount=12.5)")
            if len(given) > 1:
                raise InvalidRequest(f"query parameter {name} given {len(given)} times; give it once")
            values[name] = given[0]
        return self.convert(values["from"], values["to"], values["amount"])

    def convert(self, source: str, target: str, amount: str) -> Result:
        _check_currency("from", source)
        _check_currency("to", target)
        value = _parse_amount(amount)
        rate = self.rate(source, target)
        result = (value * Decimal(repr(rate))).quantize(_CENTS, rounding=ROUND_HALF_EVEN)
        return {"from": source, "to": target, "amount": float(value), "rate": rate, "result": float(result)}

    def rate(self, source: str, target: str) -> float:
        """The pair's rate, from the cache when it holds it."""
        if source == target:
            return 1.0
        key = (source, target)
        cached = self._cache.get(key)
        self._report("miss" if cached is None else "hit")
        if cached is not None:
            return cached
        rate = self._rate(source, target)
        self._cache.put(key, rate)
        return rate

    def _report(self, result: str) -> None:
        if self._on_lookup is not None:
            self._on_lookup(result)


def _check_currency(name: str, code: str) -> None:
    if code not in CURRENCIES:
        raise InvalidRequest(f'{name} must be one of {" ".join(CURRENCIES)}, got "{_shown(code)}"')


def _parse_amount(raw: str) -> Decimal:
    # Decimal() and float() accept "1e3", "nan", "inf" and "1_000": insist on plain decimal notation.
    if not _AMOUNT.fullmatch(raw) or Decimal(raw) > MAX_AMOUNT:
        raise InvalidRequest(
            f'amount must be a decimal number from 0 to {MAX_AMOUNT} with at most 6 decimal places, got "{_shown(raw)}"'
        )
    return Decimal(raw)


def _shown(text: str) -> str:
    """User input as it goes into an error message: printable and short."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= 40 else text[:40] + "..."
