"""Helpers of the security tests (issue 9): tokens, configs, a real hub process."""

from __future__ import annotations

import os

import httpx

from support import CliProcess, free_port, wait_until

# fixed test tokens: sha256 is what the config holds
ADMIN_TOKEN = "admin-token-5f1c2b8e9d"
VIEWER_TOKEN = "viewer-token-a7d3e60c41"
ENV_TOKEN = "env-token-0b9e4c27aa"


def sha(t: str) -> str:
    import hashlib

    return hashlib.sha256(t.encode()).hexdigest()


AUTH_YAML = f"""
auth:
  tokens:
    - {{name: alice, role: admin, token_sha256: {sha(ADMIN_TOKEN)}}}
    - {{name: bob, role: viewer, token_sha256: {sha(VIEWER_TOKEN)}}}
    - {{name: carol, role: viewer, token_env: AUTOBOT_TEST_CAROL}}
  login_max_failures: 3
  login_window: 600
"""
RULE_YAML = """
rules:
  - {name: AlwaysFires, metric: autobot_memory_used_percent, op: ">", threshold: 0, for: 0,
     severity: low, summary: "memory in use"}
"""


class Hub:
    """``autobot-monitor start`` on a free port with ``body`` as config; ``url``, ``data``."""

    def __init__(self, tmp, body: str, scheme: str = "http", env: dict | None = None,
                 verify=True, args: tuple = ()):
        self.port = free_port()
        self.data = tmp / "data"
        self.cfg = tmp / "monitoring_config.yaml"
        self.cfg.write_text(f"monitoring_interval: 1\ndashboard_port: {self.port}\n{body}")
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.verify = verify
        self.proc = CliProcess(["start", "--config", str(self.cfg), "--data-dir", str(self.data), *args],
                               env={"AUTOBOT_TEST_CAROL": ENV_TOKEN, **(env or {})})

    def get(self, path: str, token: str | None = ADMIN_TOKEN, **kw) -> httpx.Response:
        h = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(self.url + path, headers=h, verify=self.verify, timeout=5, **kw)

    def wait_cycles(self, n: int = 2, timeout: float = 60, token: str | None = ADMIN_TOKEN) -> None:
        try:
            wait_until(lambda: self.proc.proc.poll() is None and
                       self.get("/api/system/status", token).json()["cycles"] >= n,
                       timeout, 0.2, f"{n} hub cycles")
        except AssertionError:
            print(self.proc.output())
            raise

    def logs(self) -> str:
        out = []
        for root, _, files in os.walk(self.data / "logs"):
            for f in files:
                with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
                    out.append(fh.read())
        return "\n".join(out) + self.proc.output()

    def stop(self) -> int:
        return self.proc.stop()
