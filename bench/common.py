"""Shared helpers for the benchmarks: free ports, starting/stopping servers, CPU and RSS
sampling from /proc, scraping over a persistent connection, machine description, JSON output.

Linux only (reads /proc). Every process started here is tracked by a :class:`Procs` context
manager that terminates it (SIGTERM, then SIGKILL) on exit, even when the benchmark fails.
"""

from __future__ import annotations

import datetime as _dt
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "bench" / "out"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
NODE_EXPORTER = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter") \
    or "/usr/bin/prometheus-node-exporter"


# -- processes -------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def agent_command() -> list[str]:
    """The ``autobot-monitor`` console script of the interpreter running the benchmark."""
    script = Path(sys.executable).parent / "autobot-monitor"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "autobot_monitor.cli"]


class Procs:
    """Starts processes and guarantees they are stopped: ``with Procs() as procs: ...``."""

    def __init__(self, log_dir: Path | None = None):
        self.log_dir = log_dir or OUT_DIR / "logs"
        self.items: list[subprocess.Popen] = []

    def start(self, name: str, argv: list[str], cwd: str | Path | None = None,
              env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start ``argv`` (``env``: the whole environment, default this one's)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             cwd=cwd, env=env, start_new_session=True)
        p._bench_log = log  # type: ignore[attr-defined]
        p._bench_name = name  # type: ignore[attr-defined]
        self.items.append(p)
        return p

    def stop(self, p: subprocess.Popen, timeout: float = 10.0) -> None:
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
            except ProcessLookupError:
                pass
        log = getattr(p, "_bench_log", None)
        if log is not None and not log.closed:
            log.close()

    def close(self) -> None:
        for p in reversed(self.items):
            try:
                self.stop(p)
            except Exception as e:  # noqa: BLE001 - keep stopping the others
                print(f"warning: could not stop pid {p.pid}: {e}", file=sys.stderr)
        self.items.clear()

    def __enter__(self) -> Procs:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def wait_http(port: int, path: str, proc: subprocess.Popen | None = None, timeout: float = 30.0,
              want: int = 200) -> None:
    """Poll ``GET path`` on 127.0.0.1:port until it answers ``want`` (the agent answers 503
    until its first collection)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{getattr(proc, '_bench_name', proc.args)} exited with "
                               f"{proc.returncode} before answering on :{port}{path}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == want:
                return
            last = f"HTTP {r.status}"
        except OSError as e:
            last = str(e)
        time.sleep(0.1)
    raise TimeoutError(f"127.0.0.1:{port}{path} not ready after {timeout:.0f}s ({last})")


def start_agent(procs: Procs, interval: float = 1.0, port: int | None = None,
                extra: list[str] | None = None, src: str | Path | None = None,
                name: str = "agent") -> tuple[subprocess.Popen, int]:
    """An agent on 127.0.0.1:port; ``src``: a checkout whose ``src/`` is imported instead of the
    installed package (to compare two versions of the code in one run)."""
    port = port or free_port()
    cmd, env = agent_command(), None
    if src is not None:
        cmd = [sys.executable, "-m", "autobot_monitor.cli"]
        env = {**os.environ, "PYTHONPATH": str(Path(src).resolve() / "src")}
    p = procs.start(name, [*cmd, "agent", "--listen", f"127.0.0.1:{port}",
                           "--interval", f"{interval:g}", "--log-level", "WARNING",
                           *(extra or [])], env=env)
    wait_http(port, "/metrics", p)
    return p, port


def start_node_exporter(procs: Procs, port: int | None = None,
                        extra: list[str] | None = None) -> tuple[subprocess.Popen, int]:
    """node_exporter with its default collectors on 127.0.0.1:port."""
    port = port or free_port()
    p = procs.start("node_exporter", [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}",
                                      *(extra or [])])
    wait_http(port, "/metrics", p)
    return p, port


def node_exporter_version() -> str:
    try:
        r = subprocess.run([NODE_EXPORTER, "--version"], capture_output=True, text=True,
                           timeout=10, check=False)
        return (r.stdout or r.stderr).splitlines()[0].strip()
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


# -- /proc sampling --------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime of ``pid`` (all its threads; reaped children), seconds."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()  # the command name may contain spaces
    # fields[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17 -> index 11..14
    return sum(int(x) for x in fields[11:15]) / CLK_TCK


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MiB (VmRSS)."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE / (1024 * 1024)


class CpuMeter:
    """CPU seconds consumed by a set of pids between ``start()`` and ``stop()``."""

    def __init__(self, pids: dict[str, int]):
        self.pids = pids
        self.t0 = 0.0
        self.c0: dict[str, float] = {}
        self.wall = 0.0
        self.cpu: dict[str, float] = {}

    def start(self) -> CpuMeter:
        self.c0 = {k: cpu_seconds(p) for k, p in self.pids.items()}
        self.t0 = time.monotonic()
        return self

    def stop(self) -> CpuMeter:
        self.wall = time.monotonic() - self.t0
        self.cpu = {k: cpu_seconds(p) - self.c0[k] for k, p in self.pids.items()}
        return self


# -- HTTP ------------------------------------------------------------------------------------
class Scraper:
    """Sequential GETs over one persistent HTTP/1.1 connection (reconnects if the server
    closes it). ``gzip=True`` sends ``Accept-Encoding: gzip`` as Prometheus does."""

    def __init__(self, port: int, path: str = "/metrics", gzip: bool = False):
        self.port, self.path = port, path
        self.headers = {"Accept-Encoding": "gzip" if gzip else "identity"}
        self.conn: http.client.HTTPConnection | None = None
        self.last_body = b""
        self.last_headers: dict[str, str] = {}

    def get(self) -> bytes:
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request("GET", self.path, headers=self.headers)
                r = self.conn.getresponse()
                body = r.read()
                if r.status != 200:
                    raise RuntimeError(f":{self.port}{self.path} answered HTTP {r.status}")
                self.last_body = body
                self.last_headers = {k.lower(): v for k, v in r.getheaders()}
                if r.will_close:
                    self.conn.close()
                    self.conn = None
                return body
            except (http.client.HTTPException, ConnectionError):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def count_samples(text: bytes | str) -> int:
    """Sample lines in a text exposition (non-empty, not a # comment)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


# -- reporting -------------------------------------------------------------------------------
def machine_info() -> dict:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=False).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", str(REPO), "status", "--porcelain",
                                     "--untracked-files=no", "--", "src"], capture_output=True,
                                    text=True, timeout=10, check=False).stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        head, dirty = "unknown", None
    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "git_head": head, "src_modified_in_worktree": dirty,
            "python": platform.python_version(),
            "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "loadavg_at_start": [round(x, 2) for x in load],
            "node_exporter": node_exporter_version()}


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def ratio(a: float, b: float) -> float | None:
    """a / b, or None when b is 0 (JSON-safe; printed as n/a)."""
    return a / b if b else None


def write_json(name: str, data: dict) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    return path


def table(rows: list[list[object]], header: list[str]) -> str:
    def fmt(c: object) -> str:
        return f"{c:.3f}" if isinstance(c, float) else "n/a" if c is None else str(c)

    cells = [[str(c) for c in header]] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True))) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_machine(info: dict) -> None:
    print(f"machine: {info['nproc']} CPU(s), {info['cpu_model']}, kernel {info['kernel']}, "
          f"python {info['python']}, {info['node_exporter']}, load {info['loadavg_at_start']}, "
          f"{info['date']}")
