"""The service's Prometheus metrics, rendered in the text exposition format (version 0.0.4).

The names and labels are the same as the quote service's, because HyperAgent objectives and canary
analyses query them: they are part of the service's contract.

  http_requests_total{method,route,code}                counter
  http_request_duration_seconds{method,route,code}      histogram
  rates_cache_requests_total{result="hit"|"miss"}       counter
"""

import bisect
import threading
from typing import Dict, List, Sequence, Tuple

#: Fine enough between 1 and 100 ms that histogram_quantile tells a cached rate (about 1 ms) from a
#: computed one (10-20 ms) and from one that waited behind others.
LATENCY_BUCKETS = (
    0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.075, 0.1, 0.15, 0.2,
    0.3, 0.5, 1.0, 2.5,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = Tuple[Tuple[str, str], ...]


class Counter:
    def __init__(self, name: str, help_text: str, label_names: Sequence[str]) -> None:
        self.name, self.help, self.label_names = name, help_text, tuple(label_names)
        self._values: Dict[Labels, float] = {}
        self._lock = threading.Lock()

    def inc(self, amount: float = 1, **labels: str) -> None:
        key = _key(self.label_names, labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0) + amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(_key(self.label_names, labels), 0)

    def render(self) -> List[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        with self._lock:
            for key, value in sorted(self._values.items()):
                lines.append(f"{self.name}{_labels(key)} {_number(value)}")
        return lines


class Histogram:
    def __init__(self, name: str, help_text: str, label_names: Sequence[str], buckets: Sequence[float]) -> None:
        self.name, self.help, self.label_names = name, help_text, tuple(label_names)
        self.buckets = tuple(sorted(buckets))
        # Per label set: a count per bucket (not cumulative; the last one is +Inf), the sum.
        self._series: Dict[Labels, Tuple[List[int], List[float]]] = {}
        self._lock = threading.Lock()

    def observe(self, value: float, **labels: str) -> None:
        key = _key(self.label_names, labels)
        # le is "less than or equal": a value on a bound belongs to that bucket.
        index = bisect.bisect_left(self.buckets, value)
        with self._lock:
            counts, total = self._series.setdefault(key, ([0] * (len(self.buckets) + 1), [0.0]))
            counts[index] += 1
            total[0] += value

    def render(self) -> List[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        with self._lock:
            for key, (counts, total) in sorted(self._series.items()):
                cumulative = 0
                for bound, count in zip(self.buckets + (float("inf"),), counts):
                    cumulative += count
                    le = "+Inf" if bound == float("inf") else _number(bound)
                    lines.append(f"{self.name}_bucket{_labels(key + (('le', le),))} {cumulative}")
                lines.append(f"{self.name}_sum{_labels(key)} {_number(total[0])}")
                lines.append(f"{self.name}_count{_labels(key)} {cumulative}")
        return lines


class RatesMetrics:
    """Every metric of one server; a fresh set per server, so tests can run several."""

    def __init__(self) -> None:
        self.http_requests = Counter(
            "http_requests_total", "HTTP requests answered, by method, route and status code.", ("method", "route", "code")
        )
        self.http_duration = Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route and status code.",
            ("method", "route", "code"),
            LATENCY_BUCKETS,
        )
        self.cache_requests = Counter("rates_cache_requests_total", "Rate cache lookups, by result.", ("result",))

    def render(self) -> str:
        lines: List[str] = []
        for metric in (self.http_requests, self.http_duration, self.cache_requests):
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"


def _key(names: Sequence[str], labels: Dict[str, str]) -> Labels:
    if set(labels) != set(names):
        raise ValueError(f"labels {sorted(labels)} do not match {sorted(names)}")
    return tuple((name, str(labels[name])) for name in names)


def _labels(key: Labels) -> str:
    if not key:
        return ""
    escaped = (value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"') for _, value in key)
    return "{" + ",".join(f'{name}="{value}"' for (name, _), value in zip(key, escaped)) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
