"""Helpers of the security tests (issue 9): tokens, configs, a real hub process."""

from __future__ import annotations

import os

import httpx
import yaml

from support import HubProcess, wait_until

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


class Hub(HubProcess):
    """A hub (:class:`support.HubProcess`) with the YAML text ``body`` as its config, carol's
    token in its environment, and requests that carry a token (alice's, the admin, unless told)."""

    def __init__(self, tmp, body: str, scheme: str = "http", env: dict | None = None,
                 verify=True, args: tuple = ()):
        super().__init__(tmp, yaml.safe_load(body) or {}, args=args, scheme=scheme, verify=verify,
                         env={"AUTOBOT_TEST_CAROL": ENV_TOKEN, **(env or {})})

    def get(self, path: str, token: str | None = ADMIN_TOKEN, **kw) -> httpx.Response:
        h = {"Authorization": f"Bearer {token}"} if token else {}
        kw.setdefault("timeout", 5)
        return httpx.get(self.url + path, headers=h, verify=self.verify, **kw)

    def wait_cycles(self, n: int = 2, timeout: float = 60, token: str | None = ADMIN_TOKEN) -> None:
        try:
            wait_until(lambda: self.poll() is None and
                       self.get("/api/system/status", token).json()["cycles"] >= n,
                       timeout, 0.1, f"{n} hub cycles")
        except AssertionError:
            print(self.output())
            raise

    def logs(self) -> str:
        out = []
        for root, _, files in os.walk(self.data / "logs"):
            for f in files:
                with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
                    out.append(fh.read())
        return "\n".join(out) + self.output()
