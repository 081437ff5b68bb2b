"""HTTPS for the hub from a configured certificate and key (issue 9), with a self-signed
certificate made by ``openssl`` for the test."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys

import httpx
import pytest
from secsupport import ADMIN_TOKEN, AUTH_YAML, Hub

OPENSSL = shutil.which("openssl")


@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
def test_hub_serves_https(tmp_path):
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True, timeout=60)
    cert = str(tmp_path / "cert.pem")
    ctx = ssl.create_default_context(cafile=cert)
    hub = Hub(tmp_path, AUTH_YAML + "tls: {certfile: cert.pem, keyfile: key.pem}\n",
              scheme="https", verify=ctx)
    try:
        hub.wait_cycles(1)
        assert hub.get("/healthz", None).status_code == 200
        assert hub.get("/api/alerts", None).status_code == 401
        with pytest.raises(httpx.ConnectError):  # not trusted without the certificate
            httpx.get(hub.url + "/healthz", timeout=5)
        with pytest.raises(httpx.HTTPError):  # no plain HTTP on the port
            httpx.get(hub.url.replace("https", "http") + "/healthz", timeout=5)
        r = httpx.post(hub.url + "/login", data={"token": ADMIN_TOKEN}, verify=ctx)
        assert all("; Secure" in c for c in r.headers.get_list("set-cookie"))
        out = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "status", "--url", hub.url,
                              "--token", ADMIN_TOKEN, "--cacert", cert, "--json"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
    finally:
        hub.stop()


def test_missing_certificate_is_refused(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("tls: {certfile: nope.pem, keyfile: nope.key}\n")
    r = subprocess.run([sys.executable, "-m", "autobot_monitor.cli", "start", "--config", str(cfg),
                        "--data-dir", str(tmp_path / "d")], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "tls.certfile: no such file" in r.stderr
