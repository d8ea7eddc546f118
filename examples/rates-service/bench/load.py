"""An open-loop load generator: requests start at a constant rate whether or not earlier ones
have answered, as real users arrive (a closed loop waits for each answer, so it slows down with
the service and hides its latency).

  python3 -m bench.load --url http://rates-service --rps 20 [--seconds 60] [--seed 1]
                        [--requests-per-connection 1]

Without --seconds it runs until SIGTERM or SIGINT. Every 10 s it prints one line: requests,
failures (any status but 200, or no answer), p50 and p99 latency.
"""

import argparse
import http.client
import math
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from .workload import Workload

#: A schedule that fell this far behind (a stalled process) drops its backlog instead of firing
#: it all at once.
MAX_BACKLOG_SECONDS = 1.0

Sample = Tuple[float, bool]  # seconds, ok


class Client:
    """GETs paths of one base URL over keep-alive connections, one per thread, each used for at
    most ``requests_per_connection`` requests (0: no limit). Through a Kubernetes Service, a new
    connection per request spreads the load over every ready pod, canaries included."""

    def __init__(self, base_url: str, timeout: float = 2.0, requests_per_connection: int = 0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"need an http:// URL, got {base_url!r}")
        self._host, self._port = parts.hostname, parts.port or 80
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._per_connection = requests_per_connection
        self._local = threading.local()

    def get(self, path: str) -> Tuple[int, bytes]:
        connection: Optional[http.client.HTTPConnection] = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            self._local.connection = connection
            self._local.used = 0
        try:
            connection.request("GET", self._prefix + path)
            response = connection.getresponse()
            body = response.read()
            self._local.used += 1
            if response.will_close or self._local.used == self._per_connection:
                self._drop()
            return response.status, body
        except BaseException:
            self._drop()
            raise

    def timed(self, path: str) -> Sample:
        started = time.perf_counter()
        try:
            status, _ = self.get(path)
            ok = status == 200
        except (OSError, http.client.HTTPException):
            ok = False
        return time.perf_counter() - started, ok

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()


def open_loop(
    rps: float,
    seconds: float,
    fire: Callable[[], Sample],
    on_sample: Callable[[Sample], None],
    stop: Optional[threading.Event] = None,
    workers: int = 64,
) -> None:
    """Starts ``fire`` ``rps`` times a second for ``seconds`` (forever when infinite) in a thread
    pool, and returns once every request started has answered."""
    stop = stop or threading.Event()
    interval = 1 / rps
    count = math.inf if math.isinf(seconds) else round(seconds * rps)
    origin = time.perf_counter()
    fired = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load") as pool:
        while not stop.is_set() and fired < count:
            now = time.perf_counter()
            due = origin + fired * interval
            if now - due > MAX_BACKLOG_SECONDS:
                origin += now - due
                due = now
            if due > now:
                stop.wait(due - now)
                continue
            pool.submit(lambda: on_sample(fire()))
            fired += 1


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (0 < q <= 1) of samples sorted ascending; NaN when there are none."""
    if not ordered:
        return math.nan
    rank = math.ceil(q * len(ordered))
    return ordered[min(len(ordered), max(1, rank)) - 1]


def summarize(samples: Sequence[Sample]) -> Dict[str, float]:
    """Latency figures in milliseconds, and the share of failed requests."""
    ordered = sorted(seconds * 1000 for seconds, _ in samples)
    failed = sum(1 for _, ok in samples if not ok)
    return {
        "p99_ms": round(percentile(ordered, 0.99), 2),
        "p90_ms": round(percentile(ordered, 0.9), 2),
        "p50_ms": round(percentile(ordered, 0.5), 2),
        "mean_ms": round(sum(ordered) / len(ordered), 2) if ordered else math.nan,
        "max_ms": round(ordered[-1], 2) if ordered else math.nan,
        "error_rate": round(failed / len(samples), 4) if samples else 1,
        "requests": len(samples),
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Open-loop load against the rates service.")
    parser.add_argument("--url", required=True, help="base URL, such as http://rates-service")
    parser.add_argument("--rps", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=math.inf, help="forever by default")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report-seconds", type=float, default=10)
    parser.add_argument("--requests-per-connection", type=int, default=0, help="0: no limit")
    args = parser.parse_args(argv)
    client = Client(args.url, requests_per_connection=args.requests_per_connection)
    workload = Workload(args.seed)
    lock, window, total = threading.Lock(), [], [0, 0]  # samples since the last report; requests, failures
    stop = threading.Event()

    def on_sample(sample: Sample) -> None:
        with lock:
            window.append(sample)
            total[0] += 1
            total[1] += 0 if sample[1] else 1

    def report() -> None:
        while not stop.wait(args.report_seconds):
            with lock:
                samples = window[:]
                window.clear()
            figures = summarize(samples)
            print(
                f"load: {figures['requests']} requests in {args.report_seconds:g} s, error rate "
                f"{figures['error_rate']}, p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms; "
                f"{total[0]} requests, {total[1]} failed in all",
                flush=True,
            )

    for name in ("SIGTERM", "SIGINT"):
        signal.signal(getattr(signal, name), lambda *_: stop.set())
    threading.Thread(target=report, daemon=True).start()
    print(f"load: {args.rps:g} rps to {args.url} for {args.seconds:g} s", flush=True)
    open_loop(args.rps, args.seconds, lambda: client.timed(workload.next_path()), on_sample, stop)
    stop.set()
    print(f"load: done, {total[0]} requests, {total[1]} failed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
