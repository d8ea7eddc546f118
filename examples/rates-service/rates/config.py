"""The service's settings, read from environment variables and checked at start.

Every tunable a HyperAgent explores is a plain environment variable, so a parameter candidate is
"the same image with other env values". A bad value stops the service with a message that names
the variable, the allowed range and the value given.
"""

import os
import re
from dataclasses import dataclass
from typing import Mapping, Optional


class ConfigError(ValueError):
    """A setting that is out of range or not a number."""


@dataclass(frozen=True)
class Config:
    #: Address to listen on.
    host: str = "0.0.0.0"
    #: Port to listen on; 0 picks a free one (tests, benchmark).
    port: int = 8080
    #: Most currency pairs whose rate is kept in memory; 0 turns the cache off.
    cache_size: int = 0
    #: Longest time a shutdown waits for the requests in flight.
    shutdown_grace_seconds: float = 10.0


_INTEGER = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")


def _read(env: Mapping[str, str], name: str, fallback: float, low: float, high: float, pattern: "re.Pattern[str]") -> float:
    raw = env.get(name, "").strip()
    if raw == "":
        return fallback
    # int() and float() accept "1_000", " 1e3", "nan" and "inf": insist on plain decimal notation.
    if not pattern.fullmatch(raw) or not low <= float(raw) <= high:
        kind = "a whole number" if pattern is _INTEGER else "a number"
        raise ConfigError(f'{name} must be {kind} from {_plain(low)} to {_plain(high)}, got "{raw}"')
    return float(raw)


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def load_config(env: Optional[Mapping[str, str]] = None) -> Config:
    """The settings in ``env`` (the process environment by default)."""
    env = os.environ if env is None else env
    return Config(
        host=env.get("HOST", "").strip() or "0.0.0.0",
        port=int(_read(env, "PORT", 8080, 0, 65535, _INTEGER)),
        cache_size=int(_read(env, "RATES_CACHE_SIZE", 0, 0, 1_000_000, _INTEGER)),
        shutdown_grace_seconds=_read(env, "RATES_SHUTDOWN_GRACE_SECONDS", 10, 0, 300, _NUMBER),
    )
