"""Credential redaction and small shared helpers of the service checks."""

from __future__ import annotations

import pytest

from autobot_monitor.checks.base import describe, split_hostport
from autobot_monitor.secret_registry import redact, register_secret, register_url_secrets


def test_redact_masks_userinfo_in_urls():
    assert redact("http://user:pass@h/x") == "http://***@h/x"
    assert redact("see https://u:p%40ss@example.com:8443/a?b=c now") == "see https://***@example.com:8443/a?b=c now"
    assert redact("redis://:onlypass@127.0.0.1:6379/0") == "redis://***@127.0.0.1:6379/0"
    assert redact("two http://a:b@x and https://c:d@y") == "two http://***@x and https://***@y"


def test_redact_leaves_plain_text_and_urls_without_userinfo():
    assert redact("http://example.com/path@v2") == "http://example.com/path@v2"
    assert redact("connection refused") == "connection refused"
    assert redact(None) is None


def test_redact_masks_registered_secret_values_anywhere():
    register_secret("s3cr3t-value-xyz")
    assert redact("AUTH s3cr3t-value-xyz failed") == "AUTH *** failed"
    assert redact("x", extra=("zz",)) == "x"
    assert redact("azzb", extra=("zz",)) == "a***b"


def test_register_url_secrets_covers_encoded_and_decoded_password():
    register_url_secrets("https://bob:p%40ssw0rd-abc@host/")
    assert redact("password was p@ssw0rd-abc") == "password was ***"
    assert redact("raw p%40ssw0rd-abc") == "raw ***"


def test_exception_message_echoing_a_credential_url_is_redacted():
    url = "http://admin:hunter2-redact-me@10.0.0.1:81/health"
    register_url_secrets(url)
    exc = ValueError(f"cannot fetch {url}: bad gateway")
    text = describe(exc)
    assert "hunter2-redact-me" not in text
    assert "admin" not in text
    assert text == "ValueError: cannot fetch http://***@10.0.0.1:81/health: bad gateway"
    # The secret is masked even without the URL around it.
    assert "hunter2-redact-me" not in describe(RuntimeError("pw=hunter2-redact-me"))


def test_describe_shapes():
    assert describe(TimeoutError()) == "timeout"
    assert describe(ConnectionRefusedError()) == "ConnectionRefusedError"
    assert describe(OSError("line1\nline2")) == "OSError: line1 line2"


@pytest.mark.parametrize(("address", "expected"), [
    ("127.0.0.1:6379", ("127.0.0.1", 6379)),
    ("[::1]:80", ("::1", 80)),
    ("db.example:5432", ("db.example", 5432)),
])
def test_split_hostport(address, expected):
    assert split_hostport(address) == expected


def test_split_hostport_rejects_missing_port():
    with pytest.raises(ValueError):
        split_hostport("localhost")
