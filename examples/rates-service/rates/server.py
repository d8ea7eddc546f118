"""The rates service's HTTP server (http.server, one thread per connection).

  GET /convert?from=EUR&to=USD&amount=12.5  200 {"from","to","amount","rate","result"}
                                            400 {"error": "..."} on bad input
  GET /healthz                              200 while serving, 503 once shutting down
  GET /metrics                              Prometheus metrics (rates.metrics)

Anything else is 404 (route label "unmatched"), or 405 for another method on a known route.
"""

import json
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from .config import Config
from .converter import Converter, InvalidRequest
from .metrics import CONTENT_TYPE, RatesMetrics

ROUTES = ("/convert", "/healthz", "/metrics")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class RatesServer(ThreadingHTTPServer):
    daemon_threads = True
    # Connections waiting to be accepted; the default of 5 drops bursts of new connections.
    request_queue_size = 128

    def __init__(self, config: Config) -> None:
        self.config = config
        self.metrics = RatesMetrics()
        self.converter = Converter(
            config.cache_size, on_lookup=lambda result: self.metrics.cache_requests.inc(result=result)
        )
        self.shutting_down = threading.Event()
        # Every accepted connection, and whether it waits for another request after answering one
        # (idle). A new connection is not idle: its first request may be on its way.
        self._connections: Dict[socket.socket, bool] = {}
        self._changed = threading.Condition()
        super().__init__((config.host, config.port), RatesHandler)

    def server_bind(self) -> None:
        # HTTPServer's own server_bind looks the host's name up (socket.getfqdn), which waits for
        # DNS timeouts in a pod without network; the name is used nowhere here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = "localhost" if host in ("0.0.0.0", "::") else host
        return f"http://{shown}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._changed:
            self._connections[request] = False
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        with self._changed:
            self._connections.pop(request, None)
            self._changed.notify_all()

    def set_idle(self, connection: socket.socket, idle: bool) -> None:
        with self._changed:
            if connection in self._connections:
                self._connections[connection] = idle

    def stop(self, grace_seconds: Optional[float] = None) -> bool:
        """Stops accepting connections, answers the requests already sent (with `Connection:
        close`), closes idle keep-alive connections, and waits for every connection to end, at
        most the grace period; True when they all did. serve_forever must run in another thread."""
        grace = self.config.shutdown_grace_seconds if grace_seconds is None else grace_seconds
        self.shutting_down.set()
        self.shutdown()
        # Connections the kernel completed but the busy accept loop had not taken yet (busy
        # converting, with one thread at a time) would be reset by closing the socket: take them.
        self.socket.setblocking(False)
        while True:
            try:
                request, client_address = self.socket.accept()
            except OSError:
                break
            self.process_request(request, client_address)
        with self._changed:
            for connection, idle in self._connections.items():
                if idle:
                    _close_reading(connection)
            done = self._changed.wait_for(lambda: not self._connections, timeout=grace)
        self.server_close()
        return done


class RatesHandler(BaseHTTPRequestHandler):
    server: RatesServer
    protocol_version = "HTTP/1.1"  # keep-alive: every answer has a Content-Length
    server_version = "rates-service"
    # An idle keep-alive connection holds a thread; close it after this many seconds.
    timeout = 30
    # Headers and body go out in two writes: with Nagle's algorithm the body would wait for the
    # client's delayed ACK of the headers, 40 ms on Linux, on every keep-alive request.
    disable_nagle_algorithm = True

    def parse_request(self) -> bool:
        # The request line has arrived: this connection has a request to answer.
        self.server.set_idle(self.request, False)
        return super().parse_request()

    def _dispatch(self) -> None:
        # Timed from here, once the request line and headers are read: timing from the read would
        # count the time a keep-alive connection sat idle.
        started = time.perf_counter()
        path = urlsplit(self.path).path
        route = path if path in ROUTES else "unmatched"
        code = 500
        try:
            code = self._answer(route)
        except ConnectionError:
            code = 499  # the client went away before the answer, counted as nginx does
            self.close_connection = True
        except Exception as error:  # an answer must go out whatever happened
            print(f"unexpected error on {self.command} {self.path}: {error!r}", file=sys.stderr, flush=True)
            try:
                code = self._send_json(500, {"error": "internal error"})
            except ConnectionError:
                code = 499
                self.close_connection = True
        finally:
            labels = {"method": self.command, "route": route, "code": str(code)}
            self.server.metrics.http_requests.inc(**labels)
            self.server.metrics.http_duration.observe(time.perf_counter() - started, **labels)
            if self.server.shutting_down.is_set():
                self.close_connection = True
            else:
                self.server.set_idle(self.request, True)

    def _answer(self, route: str) -> int:
        if route == "unmatched":
            return self._send_json(404, {"error": f"no such route; try {', '.join(ROUTES)}"})
        if self.command != "GET":
            return self._send_json(405, {"error": f"{route} answers GET only"}, extra=(("Allow", "GET"),))
        if route == "/healthz":
            if self.server.shutting_down.is_set():
                return self._send_text(503, "shutting down\n")
            return self._send_text(200, "ok\n")
        if route == "/metrics":
            return self._send_text(200, self.server.metrics.render(), CONTENT_TYPE)
        query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        try:
            return self._send_json(200, self.server.converter.convert_query(query))
        except InvalidRequest as error:
            return self._send_json(400, {"error": str(error)})

    def _send_json(self, status: int, body: Any, extra: Tuple[Tuple[str, str], ...] = ()) -> int:
        return self._send(status, json.dumps(body).encode(), "application/json", extra)

    def _send_text(self, status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> int:
        return self._send(status, text.encode(), content_type)

    def _send(self, status: int, body: bytes, content_type: str, extra: Tuple[Tuple[str, str], ...] = ()) -> int:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        if self.server.shutting_down.is_set():
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return status

    def version_string(self) -> str:
        return self.server_version  # not the Python version

    def log_message(self, fmt: str, *args: Any) -> None:
        pass  # no access log: /metrics counts every request

    def log_error(self, fmt: str, *args: Any) -> None:
        if fmt.startswith("Request timed out"):
            return  # an idle keep-alive connection reached `timeout`: normal
        print(f"{self.address_string()}: {fmt % args}", file=sys.stderr, flush=True)


for _method in METHODS:
    setattr(RatesHandler, f"do_{_method}", RatesHandler._dispatch)


def _close_reading(connection: socket.socket) -> None:
    """Ends the wait of an idle connection's thread for its next request."""
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by the client


def start(config: Config) -> Tuple[RatesServer, threading.Thread]:
    """Binds and serves in a background thread (tests, the entry point)."""
    server = RatesServer(config)
    # serve_forever checks for a shutdown request this often (seconds); 0.5 by default.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="rates-server", daemon=True)
    thread.start()
    return server, thread
