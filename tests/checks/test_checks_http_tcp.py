"""HTTP and TCP checks against a real threaded HTTP server and real sockets."""

from __future__ import annotations

import logging

from autobot_monitor.checks.runner import ServiceChecker
from autobot_monitor.config.models import HttpService, TcpService
from autobot_monitor.model import find_samples


def http(name: str, url: str, **kw) -> HttpService:
    return HttpService(type="http", name=name, url=url, **kw)


async def run_one(svc):
    checker = ServiceChecker([svc])
    try:
        fams, results = await checker.run()
    finally:
        await checker.aclose()
    assert len(results) == 1
    return fams, results[0]


async def test_http_200_is_up_with_status_and_response_time(http_server):
    fams, r = await run_one(http("web", http_server.url("/ok"), host="h1"))
    assert r.up and r.error is None
    assert r.status_code == 200 and r.host == "h1" and r.type == "http"
    assert 0 < r.response_time_seconds <= 5.0  # measured, within the check's (default) timeout
    assert r.details["body_bytes"] == 2000
    assert find_samples(fams, "autobot_service_up", service="web", type="http")[0].value == 1
    assert find_samples(fams, "autobot_http_response_status_code", service="web")[0].value == 200
    assert len(find_samples(fams, "autobot_service_response_time_seconds", service="web")) == 1


async def test_http_500_is_down_when_200_expected(http_server):
    fams, r = await run_one(http("api", http_server.url("/fail")))
    assert not r.up
    assert r.status_code == 500
    assert r.error == "status 500, expected 200"
    assert r.response_time_seconds is not None
    assert find_samples(fams, "autobot_service_up", service="api")[0].value == 0
    assert find_samples(fams, "autobot_http_response_status_code", service="api")[0].value == 500


async def test_http_500_is_up_when_500_expected(http_server):
    _, r = await run_one(http("api", http_server.url("/fail"), expected_status=500))
    assert r.up and r.status_code == 500


async def test_http_head_method(http_server):
    _, r = await run_one(http("head", http_server.url("/ok"), method="HEAD"))
    assert r.up and r.details["body_bytes"] == 0 and r.details["method"] == "HEAD"


async def test_http_redirect_is_not_followed(http_server):
    _, r = await run_one(http("redir", http_server.url("/redirect")))
    assert not r.up and r.status_code == 302
    _, r = await run_one(http("redir", http_server.url("/redirect"), expected_status=302))
    assert r.up


async def test_http_hang_is_down_with_timeout_and_no_response_time(http_server):
    fams, r = await run_one(http("slow", http_server.url("/slow"), timeout=0.4))
    assert not r.up and r.error == "timeout"  # cut off at its timeout (the server waits 10 s)
    assert r.response_time_seconds is None and r.status_code is None
    assert find_samples(fams, "autobot_service_response_time_seconds", service="slow") == []
    assert find_samples(fams, "autobot_http_response_status_code", service="slow") == []


async def test_http_connection_refused_is_down_without_measurements(closed_port):
    fams, r = await run_one(http("gone", f"http://127.0.0.1:{closed_port}/"))
    assert not r.up and r.status_code is None and r.response_time_seconds is None
    assert r.error and "ConnectError" in r.error
    assert [f.name for f in fams] == ["autobot_service_up"]


async def test_http_url_credentials_are_sent_but_never_reported(http_server, closed_port, caplog):
    caplog.set_level(logging.DEBUG)
    pw = "url-pass-Zq81"
    url = http_server.url("/auth").replace("http://", f"http://monitor:{pw}@")
    _, r = await run_one(http("authd", url))
    assert r.up, r.error  # basic auth header was sent
    assert pw not in repr(r) and "monitor:" not in repr(r)
    assert r.details["url"].startswith("http://***@127.0.0.1")
    fams, r = await run_one(http("authd", f"http://monitor:{pw}@127.0.0.1:{closed_port}/x"))
    assert not r.up
    assert pw not in repr(r) and pw not in repr(fams)
    assert pw not in caplog.text and "monitor:" not in caplog.text
    assert "HTTP Request" in caplog.text  # httpx did log the request, without credentials


async def test_tcp_listener_is_up_with_connect_time(tcp_listener):
    fams, r = await run_one(TcpService(type="tcp", name="pg", address=tcp_listener))
    assert r.up and r.error is None and r.status_code is None
    assert 0 <= r.response_time_seconds <= 5.0  # measured, within the check's (default) timeout
    assert find_samples(fams, "autobot_service_up", service="pg", type="tcp")[0].value == 1


async def test_tcp_ipv6_literal_address(tcp6_listener):
    _, r = await run_one(TcpService(type="tcp", name="v6", address=tcp6_listener))
    assert r.up, r.error


async def test_tcp_refused_is_down_and_response_time_absent(closed_port):
    fams, r = await run_one(TcpService(type="tcp", name="nope", address=f"127.0.0.1:{closed_port}"))
    assert not r.up and r.response_time_seconds is None
    assert r.error and "Connect" in r.error
    assert find_samples(fams, "autobot_service_response_time_seconds") == []
    assert find_samples(fams, "autobot_service_up", service="nope")[0].value == 0
