import json
import urllib.error
import urllib.request
from typing import Callable, Iterator, List, Tuple

import pytest

from rates.config import Config
from rates.server import RatesServer, start


def get(url: str, method: str = "GET") -> Tuple[int, str, str]:
    """Status, content type and body of one request; an HTTP error status is an answer too."""
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def get_json(url: str) -> Tuple[int, dict]:
    status, _, body = get(url)
    return status, json.loads(body)


@pytest.fixture
def serve() -> Iterator[Callable[..., RatesServer]]:
    """Starts servers on free loopback ports (``serve(cache_size=8)``); stops them afterwards."""
    servers: List[RatesServer] = []

    def serve_with(**settings: object) -> RatesServer:
        server, _ = start(Config(host="127.0.0.1", port=0, **settings))  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield serve_with
    for server in servers:
        if not server.shutting_down.is_set():
            server.stop(grace_seconds=5)
