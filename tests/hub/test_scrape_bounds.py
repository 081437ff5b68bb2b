"""The scraper against real HTTP servers on loopback: a connection the server closes while idle,
bodies capped while read (plain and gzip), limits checked before parsing, target labels
authoritative, failures logged once per state change, scrape timeout refused at config load."""

from __future__ import annotations

import gzip
import logging
import socket
import threading

import pytest

from autobot_monitor.config.loader import load_config
from autobot_monitor.errors import ConfigError
from autobot_monitor.exposition import parse
from autobot_monitor.hub import scrape as scrape_mod
from autobot_monitor.hub.scrape import (
    ScrapeError,
    ScrapeLimits,
    ScrapeTarget,
    parse_limited,
    scrape,
    scrape_client,
    with_target_labels,
)
from autobot_monitor.hub.scrape_health import ScrapeHealth

BODY = b"# TYPE demo gauge\ndemo 1\n"


class RawServer:
    """A TCP server on 127.0.0.1 running ``handler(conn)`` per connection in a thread."""

    def __init__(self, handler):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.handler = handler
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn):
        with conn:
            try:
                self.handler(conn)
            except OSError:
                pass

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def close(self):
        self._stop.set()
        self.sock.close()


def read_request(conn) -> bool:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(4096)
        if not chunk:
            return False
        buf += chunk
    return True


def respond(conn, body: bytes, headers: str = "") -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                 + f"Content-Length: {len(body)}\r\n{headers}\r\n".encode() + body)


@pytest.fixture
def server():
    made = []

    def make(handler):
        s = RawServer(handler)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


async def test_request_on_a_connection_closed_while_idle_is_retried(server):
    """The root cause of the lost scrapes: the server's keep-alive ran out just as the next scrape
    went out on the pooled connection, so the server closed it without answering
    (RemoteProtocolError). The scraper now retries once on a fresh connection."""
    def answer_once_then_close_on_next(conn):
        if read_request(conn):
            respond(conn, BODY)
        read_request(conn)  # the next request arrives as the server closes the connection

    srv = server(answer_once_then_close_on_next)
    target = ScrapeTarget("demo", srv.url())
    async with scrape_client(10) as client:
        first = await scrape(client, target, 10, 0.0)
        second = await scrape(client, target, 10, 0.0)
    assert first.ok and second.ok, (first.error, second.error)
    assert srv.connections == 2
    assert [s.value for f in second.families for s in f.samples] == [1.0]


async def test_no_retry_once_the_server_answered(server):
    def truncated(conn):
        while read_request(conn):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\ndemo 1\n")
            conn.close()
            return

    srv = server(truncated)
    async with scrape_client(10) as client:
        r = await scrape(client, ScrapeTarget("demo", srv.url()), 10, 0.0)
    assert not r.ok and r.reason == "protocol"
    assert srv.connections == 1


async def test_endless_chunked_body_is_cut_at_the_limit(server):
    sent = []

    def endless(conn):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"a" * 65536
        while True:
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent.append(len(chunk))

    srv = server(endless)
    target = ScrapeTarget("demo", srv.url(), limits=ScrapeLimits(body_size_limit=1 << 20))
    async with scrape_client(30) as client:
        r = await scrape(client, target, 30, 0.0)
    assert not r.ok and r.reason == "body_size_limit", r.error
    assert r.families == []


async def test_gzip_bomb_is_cut_while_decompressing(server):
    bomb = gzip.compress(b"0" * (64 << 20), 1)  # 64 MiB of zeros in well under 1 MiB
    assert len(bomb) < (1 << 20)

    def serve_bomb(conn):
        if read_request(conn):
            respond(conn, bomb, "Content-Encoding: gzip\r\n")

    srv = server(serve_bomb)
    target = ScrapeTarget("demo", srv.url(), limits=ScrapeLimits(body_size_limit=4 << 20))
    async with scrape_client(30) as client:
        r = await scrape(client, target, 30, 0.0)
    assert not r.ok and r.reason == "body_size_limit"
    assert "decompressed" in r.error


async def test_gzip_body_within_the_limit_is_parsed(server):
    def serve_gzip(conn):
        if read_request(conn):
            respond(conn, gzip.compress(BODY), "Content-Encoding: gzip\r\n")

    srv = server(serve_gzip)
    async with scrape_client(10) as client:
        r = await scrape(client, ScrapeTarget("demo", srv.url()), 10, 0.0)
    assert r.ok, r.error
    assert r.families[0].samples[0].value == 1.0


def test_sample_limit_refuses_before_parsing(monkeypatch):
    body = b"".join(b"many{i=\"%d\"} 1\n" % i for i in range(100_000))

    def never(_text):
        raise AssertionError("parsed an over-limit body")

    monkeypatch.setattr(scrape_mod, "parse", never)
    with pytest.raises(ScrapeError) as e:
        parse_limited(body, ScrapeLimits(sample_limit=50_000))
    assert e.value.reason == "sample_limit"
    monkeypatch.setattr(scrape_mod, "parse", parse)
    small = b"".join(b"many{i=\"%d\"} 1\n" % i for i in range(1000))
    fams = parse_limited(small, ScrapeLimits(sample_limit=1000))
    assert sum(len(f.samples) for f in fams) == 1000
    with pytest.raises(ScrapeError):
        parse_limited(small, ScrapeLimits(sample_limit=999))


def test_label_limits():
    many = ",".join(f'l{i}="v"' for i in range(10))
    with pytest.raises(ScrapeError) as e:
        parse_limited(f"m{{{many}}} 1\n".encode(), ScrapeLimits(label_limit=5))
    assert e.value.reason == "label_limit"
    with pytest.raises(ScrapeError) as e:
        parse_limited(f'm{{a="{"x" * 300}"}} 1\n'.encode(), ScrapeLimits(label_value_length_limit=100))
    assert e.value.reason == "label_value_length_limit"
    assert parse_limited(f"m{{{many}}} 1\n".encode(), ScrapeLimits(label_limit=10))


def test_target_labels_win_and_conflicts_are_exported():
    fams = parse('m{host="other",job="x",instance="y",env="e"} 1\n'
                 'n{exported_host="z",host="w"} 2\n')
    agent = ScrapeTarget("autobot-agent", "http://127.0.0.1:9100/metrics", "a1", {"env": "prod"})
    got = {s.name: dict(s.labels) for f in with_target_labels(fams, agent) for s in f.samples}
    assert got["m"] == {"host": "a1", "env": "prod", "exported_host": "other",
                        "exported_job": "x", "exported_instance": "y", "exported_env": "e"}
    assert got["n"] == {"host": "a1", "env": "prod", "exported_host": "z",
                        "exported_exported_host": "w"}
    plain = ScrapeTarget("app", "http://127.0.0.1:8000/metrics")
    got = {s.name: dict(s.labels) for f in with_target_labels(fams, plain) for s in f.samples}
    assert got["m"] == {"job": "app", "instance": "127.0.0.1:8000", "env": "e",
                        "exported_host": "other", "exported_job": "x", "exported_instance": "y"}


def test_failures_logged_once_per_state_change(caplog):
    from autobot_monitor.hub.scrape import ScrapeResult

    t = ScrapeTarget("autobot-agent", "http://127.0.0.1:9/metrics", "a1")
    health = ScrapeHealth()
    seq = [(True, None), (False, "timeout"), (False, "timeout"), (False, "timeout"),
           (False, "http_status"), (True, None), (True, None)]
    with caplog.at_level(logging.INFO, logger="autobot_monitor.hub.scrape"):
        for ok, reason in seq:
            health.record([ScrapeResult(t, ok, 0.1, [], None if ok else reason, 0.0, reason)])
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 3, msgs
    assert "failed: timeout" in msgs[0] and "failed: http_status" in msgs[1]
    assert "4 of the last 6" in msgs[2]
    assert health.failures() == {("autobot-agent", "127.0.0.1:9", "a1", "timeout"): 3,
                                 ("autobot-agent", "127.0.0.1:9", "a1", "http_status"): 1}
    last = ScrapeResult(t, True, 0.1, [], None, 0.0)
    assert health.status(last) == (None, 4, 7)


def test_scrape_timeout_must_be_under_the_interval(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("monitoring_interval: 5\nscrape:\n  timeout: 5\n")
    with pytest.raises(ConfigError) as e:
        load_config(str(p))
    assert e.value.problems[0].startswith(f"{p}:2: scrape:")
    assert "less than monitoring_interval" in e.value.problems[0]
    p.write_text("monitoring_interval: 4\nscrape:\n  sample_limit: 10\n")
    cfg = load_config(str(p))
    assert cfg.scrape.timeout == 3.2 and cfg.scrape.sample_limit == 10
