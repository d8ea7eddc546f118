"""Exchange rates, and the deliberately slow way the service works them out.

A pair's rate is the mid-market rate implied by the two currencies' reference rates against the
US dollar, nudged by the drift of a synthetic tick history of that pair (a few 0.01%). The history is generated
from a seed derived from the pair's name, so a rate never changes between calls, processes or
machines. Replaying the history is the service's bottleneck: about 15 ms of pure CPU per pair, and
the service replays it on every conversion unless the rate is cached (rates.converter).
"""

import zlib

#: Supported currencies and their reference rates: units of the currency per US dollar.
USD_RATES = {
    "USD": 1.0,
    "EUR": 0.92,
    "GBP": 0.79,
    "JPY": 151.3,
    "CHF": 0.88,
    "CAD": 1.36,
    "AUD": 1.52,
    "SEK": 10.6,
}

CURRENCIES = tuple(sorted(USD_RATES))

#: Ticks replayed per rate. The cost of a miss is proportional to it.
HISTORY_TICKS = 120_000

_MODULUS = 2**31


def compute_rate(source: str, target: str) -> float:
    """Units of ``target`` one unit of ``source`` buys, rounded to 6 significant digits.

    Slow on purpose: it replays the pair's whole tick history. Both currencies must be in
    CURRENCIES; a currency converts to itself at exactly 1.
    """
    if source == target:
        return 1.0
    mid = USD_RATES[target] / USD_RATES[source]
    # A linear congruential generator: integer arithmetic only, so the sum, and the rate, are
    # exactly the same everywhere.
    tick = zlib.crc32(f"{source}/{target}".encode()) % _MODULUS
    total = 0
    for _ in range(HISTORY_TICKS):
        tick = (tick * 1103515245 + 12345) % _MODULUS
        total += tick
    drift = total / HISTORY_TICKS / _MODULUS - 0.5  # the history's mean is close to 0.5
    return float(f"{mid * (1 + drift):.6g}")
