"""A hostile Prometheus target: a real HTTP/1.1 server on 127.0.0.1 (raw sockets, one thread per
connection) whose paths misbehave the ways scraped targets do.

    /metrics, /spoof  claims host="victim", job="x", instance="y" on its samples
    /endless          a chunked body that never ends
    /bomb             64 MiB of zeros gzip-compressed into a small body
    /many             100,000 series
    /labels           a sample with 100 labels
    /hung             never answers (until the server stops)

With ``hang_metrics=True``, /metrics hangs too (an agent that accepts and never answers).
"""

from __future__ import annotations

import gzip
import socket
import threading

SPOOF = b'# TYPE evil_spoof gauge\nevil_spoof{host="victim",job="x",instance="y"} 1\n'


def _bodies() -> dict[str, tuple[bytes, str]]:
    many = b"# TYPE evil_many gauge\n" + b"".join(b'evil_many{i="%d"} 1\n' % i
                                                 for i in range(100_000))
    labels = ",".join(f'l{i}="v"' for i in range(100))
    return {
        "/spoof": (SPOOF, ""),
        "/metrics": (SPOOF, ""),
        "/many": (many, ""),
        "/labels": (f"# TYPE evil_labels gauge\nevil_labels{{{labels}}} 1\n".encode(), ""),
        "/bomb": (gzip.compress(b"0" * (64 << 20), 1), "Content-Encoding: gzip\r\n"),
    }


class EvilTarget:
    def __init__(self, hang_metrics: bool = False):
        self.bodies = _bodies()
        self.hang_metrics = hang_metrics
        self.requests: list[str] = []
        self.stopped = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.address}{path}"

    def stop(self) -> None:
        self.stopped.set()
        self.sock.close()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                while (path := _read_path(conn)) is not None:
                    self.requests.append(path)
                    if not self._answer(conn, path):
                        return
            except OSError:
                pass

    def _answer(self, conn: socket.socket, path: str) -> bool:
        """Answer one request; False when the connection is done."""
        if path == "/hung" or (path == "/metrics" and self.hang_metrics):
            self.stopped.wait(120)
            return False
        if path == "/endless":
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"x" * 65536
            while not self.stopped.is_set():
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            return False
        body, headers = self.bodies.get(path, (b"not found\n", ""))
        status = "200 OK" if path in self.bodies else "404 Not Found"
        conn.sendall(f"HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\n"
                     f"Content-Length: {len(body)}\r\n{headers}\r\n".encode() + body)
        return True


def _read_path(conn: socket.socket) -> str | None:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        buf += chunk
    return buf.split(b" ", 2)[1].decode()
