"""``python3 -m rates``: serves on $HOST:$PORT until SIGTERM or SIGINT.

Prints one line, ``rates-service listening on http://HOST:PORT (...)``, once it accepts
connections (the benchmark reads the port from it when PORT=0). On a signal it stops accepting
connections, finishes the requests in flight and exits 0; exit code 2 means a bad setting.
"""

import signal
import sys
import threading

from .config import ConfigError, load_config
from .server import start


def main() -> int:
    try:
        config = load_config()
    except ConfigError as error:
        print(f"invalid configuration: {error}", file=sys.stderr)
        return 2
    server, _ = start(config)
    print(f"rates-service listening on {server.url} (cache size {config.cache_size})", flush=True)
    stop = threading.Event()
    received = []

    def on_signal(number: int, _frame: object) -> None:
        received.append(signal.Signals(number).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop.wait(1):  # a timed wait, so the signal handler runs promptly
        pass
    print(f"{received[0]}: finishing requests in flight", file=sys.stderr, flush=True)
    if not server.stop():
        print(f"still busy after {config.shutdown_grace_seconds:g} s, exiting", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
