"""The requests the traffic makes: a seeded, repeatable mix of conversions.

Currency pairs are Zipf-popular (a few pairs most of the time, every pair now and then), and
amounts are random with two decimals. The currency list is a copy of the service's, on purpose
(see bench/__init__.py).
"""

import random
from typing import List, Tuple

CURRENCIES = ("AUD", "CAD", "CHF", "EUR", "GBP", "JPY", "SEK", "USD")

#: Every ordered pair of two different currencies: 56.
PAIRS: Tuple[Tuple[str, str], ...] = tuple((a, b) for a in CURRENCIES for b in CURRENCIES if a != b)

#: Zipf exponent of pair popularity.
ZIPF_S = 1.0


class Workload:
    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        ranked: List[Tuple[str, str]] = list(PAIRS)
        self._random.shuffle(ranked)
        self._pairs = ranked
        self._weights = [1 / (rank + 1) ** ZIPF_S for rank in range(len(ranked))]

    def next_path(self) -> str:
        source, target = self._random.choices(self._pairs, self._weights)[0]
        amount = self._random.randint(1, 100_000) / 100
        return f"/convert?from={source}&to={target}&amount={amount:.2f}"


def every_pair_path(source: str, target: str) -> str:
    return f"/convert?from={source}&to={target}&amount=1"
