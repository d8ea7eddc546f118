"""The benchmark a HyperAgent's sandbox runs for every candidate: ``python3 -m bench.run``.

It starts the service from this directory as its own process (``python3 -m rates``, configured
from the environment exactly as in production: the sandbox sets a candidate's parameters, such as
RATES_CACHE_SIZE, as environment variables), on a free loopback port. Then:

  1. warm-up: one conversion of every currency pair, then 0.5 s of traffic, none of it measured
     (a service that has run for a while has seen every pair);
  2. measured: BENCH_RPS (40) conversions a second for BENCH_SECONDS (4), open loop, with the
     seeded pair mix of bench/workload.py; latency is measured by this client.

stdout gets exactly one line, a JSON object of figures, for example
  {"p99_ms": 1.9, "p90_ms": 1.2, "p50_ms": 0.9, "mean_ms": 1.0, "max_ms": 2.3, "error_rate": 0, "requests": 160}
which is also written to the file named by --json or $HYPERAGENT_BENCHMARK_OUTPUT when given.
Logs go to stderr. One run takes about 6 s.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
from typing import List, Optional

from .load import Client, Sample, open_loop, summarize
from .workload import PAIRS, Workload, every_pair_path

#: The same request sequence on every run: run-to-run differences are the service's.
SEED = 20240601

APP_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_number(name: str, fallback: float, low: float, high: float) -> float:
    raw = os.environ.get(name, "").strip()
    if raw == "":
        return fallback
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", raw) or not low <= float(raw) <= high:
        raise SystemExit(f"bench: {name} must be a number from {low:g} to {high:g}, got {raw!r}")
    return float(raw)


def start_service() -> "tuple[subprocess.Popen[str], str]":
    env = {**os.environ, "PORT": "0", "HOST": "127.0.0.1", "PYTHONDONTWRITEBYTECODE": "1"}
    service = subprocess.Popen(
        [sys.executable, "-m", "rates"], cwd=APP_DIR, env=env, stdout=subprocess.PIPE, text=True
    )
    found: List[str] = []

    def read_first_line() -> None:
        assert service.stdout is not None
        found.append(service.stdout.readline())

    reader = threading.Thread(target=read_first_line, daemon=True)
    reader.start()
    reader.join(10)
    match = re.search(r"listening on (http://\S+)", found[0] if found else "")
    if not match:
        service.kill()
        raise SystemExit(f"bench: the service did not start (exit code {service.poll()}, said {found!r})")
    return service, match.group(1)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    rps = read_number("BENCH_RPS", 40, 1, 2000)
    seconds = read_number("BENCH_SECONDS", 4, 0.1, 600)
    warmup_seconds = read_number("BENCH_WARMUP_SECONDS", 0.5, 0, 600)

    service, url = start_service()
    try:
        print(
            f"bench: {url}, {rps:g} rps, warm-up {len(PAIRS)} pairs + {warmup_seconds:g} s, "
            f"{seconds:g} s measured, RATES_CACHE_SIZE={os.environ.get('RATES_CACHE_SIZE', '')!r}",
            file=sys.stderr,
        )
        client, workload = Client(url), Workload(SEED)
        for source, target in PAIRS:
            client.get(every_pair_path(source, target))
        open_loop(rps, warmup_seconds, lambda: client.timed(workload.next_path()), lambda _: None)
        samples: List[Sample] = []
        lock = threading.Lock()

        def keep(sample: Sample) -> None:
            with lock:
                samples.append(sample)

        open_loop(rps, seconds, lambda: client.timed(workload.next_path()), keep)
        figures = summarize(samples)
        _, metrics = client.get("/metrics")
        lookups = re.findall(r'^rates_cache_requests_total\{result="(\w+)"\} (\S+)$', metrics.decode(), re.M)
        print(f"bench: cache lookups {dict(lookups)}", file=sys.stderr)
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(10)
        except subprocess.TimeoutExpired:
            service.kill()

    line = json.dumps(figures)
    for path in (args.json, os.environ.get("HYPERAGENT_BENCHMARK_OUTPUT")):
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path, "w") as file:
                file.write(line + "\n")
    print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
