import http.client
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import get, get_json


def test_convert_answers_json(serve):
    server = serve()
    status, content_type, body = get(f"{server.url}/convert?from=EUR&to=USD&amount=12.5")
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == {"from": "EUR", "to": "USD", "amount": 12.5, "rate": 1.08734, "result": 13.59}


def test_bad_input_is_a_400_with_the_reason(serve):
    server = serve()
    status, body = get_json(f"{server.url}/convert?from=EUR&to=usd&amount=1")
    assert status == 400
    assert body == {"error": 'to must be one of AUD CAD CHF EUR GBP JPY SEK USD, got "usd"'}
    status, body = get_json(f"{server.url}/convert?from=EUR&to=USD&amount=")
    assert status == 400 and "amount must be a decimal number" in body["error"]


def test_unknown_routes_and_methods(serve):
    server = serve()
    assert get_json(f"{server.url}/quote")[0] == 404
    assert get(f"{server.url}/convert?from=EUR&to=USD&amount=1", method="POST")[0] == 405


def test_healthz_until_shutdown(serve):
    server = serve()
    assert get(f"{server.url}/healthz")[:2] == (200, "text/plain; charset=utf-8")
    server.shutting_down.set()  # what stop() does first
    assert get(f"{server.url}/healthz")[0] == 503
    assert server.stop(grace_seconds=5) is True


def test_metrics_count_requests_by_route_and_code_with_a_latency_histogram(serve):
    server = serve()
    get(f"{server.url}/convert?from=EUR&to=USD&amount=1")
    get(f"{server.url}/convert?from=EUR&to=USD&amount=x")
    get(f"{server.url}/healthz")
    counted = [
        'http_requests_total{method="GET",route="/convert",code="200"} 1\n',
        'http_requests_total{method="GET",route="/convert",code="400"} 1\n',
        'http_requests_total{method="GET",route="/healthz",code="200"} 1\n',
    ]
    # A request is counted once its answer is out, on its handler's thread: an answer can reach us
    # before its handler has counted it, so read /metrics until all are counted (2 s at most).
    deadline = time.monotonic() + 2
    while True:
        status, content_type, text = get(f"{server.url}/metrics")
        if all(line in text for line in counted) or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    for line in counted:
        assert line in text
    assert "# TYPE http_request_duration_seconds histogram\n" in text
    buckets = re.findall(
        r'^http_request_duration_seconds_bucket\{method="GET",route="/convert",code="200",le="([^"]+)"\} (\d+)$',
        text,
        re.M,
    )
    assert buckets[-1] == ("+Inf", "1") and [int(n) for _, n in buckets] == sorted(int(n) for _, n in buckets)
    assert 'http_request_duration_seconds_count{method="GET",route="/convert",code="200"} 1\n' in text


def test_cache_hits_and_misses_are_counted(serve):
    uncached, cached = serve(cache_size=0), serve(cache_size=16)
    for server in (uncached, cached):
        for _ in range(3):
            assert get(f"{server.url}/convert?from=GBP&to=CHF&amount=10")[0] == 200
    assert uncached.metrics.cache_requests.value(result="miss") == 3
    assert uncached.metrics.cache_requests.value(result="hit") == 0
    assert cached.metrics.cache_requests.value(result="miss") == 1
    assert cached.metrics.cache_requests.value(result="hit") == 2
    assert 'rates_cache_requests_total{result="hit"} 2\n' in get(f"{cached.url}/metrics")[2]


def test_stop_answers_the_requests_already_sent_and_closes_idle_connections(serve):
    server = serve()
    idle = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
    idle.request("GET", "/healthz")
    assert idle.getresponse().read() == b"ok\n"  # a keep-alive connection, now waiting
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = [pool.submit(get, f"{server.url}/convert?from=SEK&to=AUD&amount={n}") for n in range(10)]
        # Long enough for all ten to be sent on a busy machine (a sandbox shares its node): the
        # test is about requests already sent, not about a race with the listener closing.
        time.sleep(0.5)
        started = time.perf_counter()
        assert server.stop(grace_seconds=5) is True
        assert time.perf_counter() - started < 2, "the idle connection did not hold the shutdown"
        assert [answer.result()[0] for answer in answers] == [200] * 10
