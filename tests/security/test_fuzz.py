"""Fuzzing (issue 9): schemathesis against a live hub's OpenAPI (no 5xx), hypothesis over the
config loader (only ConfigError, never a traceback) and the exposition parser (only ValueError)."""

from __future__ import annotations

import os

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from secsupport import ADMIN_TOKEN

from autobot_monitor.config.loader import parse_config
from autobot_monitor.errors import ConfigError
from autobot_monitor.exposition import parse

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
EXAMPLES_PER_OPERATION = int(os.environ.get("AUTOBOT_FUZZ_EXAMPLES", "25"))  # 100: > 1,000 requests


@pytest.fixture(scope="module")
def api_schema(auth_hub):
    return schemathesis.openapi.from_url(auth_hub.url + "/openapi.json", headers=AUTH)


def test_api_never_answers_5xx(api_schema, auth_hub):
    """Every operation, as admin (so writes run too), ``EXAMPLES_PER_OPERATION`` generated
    requests each (schemathesis' Python API: its pytest plugin does not run under pytest 9): no
    5xx, and a JSON 4xx carries ``{"error": ...}`` or FastAPI's ``detail``."""
    calls = []

    def check(case):
        resp = case.call(headers=AUTH, timeout=10)
        calls.append(resp.status_code)
        assert resp.status_code < 500, (
            f"{case.method} {case.formatted_path}: {resp.status_code} {resp.text[:300]}")
        ctype = "".join(resp.headers.get("content-type") or [])
        if 400 <= resp.status_code < 500 and ctype.startswith("application/json"):
            body = resp.json()
            assert "error" in body or "detail" in body

    ops = [r.ok() for r in api_schema.get_all_operations()]
    assert len(ops) >= 10
    for op in ops:
        settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                 suppress_health_check=list(HealthCheck))(given(case=op.as_strategy())(check))()
    assert len(calls) >= 5 * len(ops)
    assert auth_hub.get("/healthz", None).status_code == 200
    print(f"schemathesis: {len(calls)} requests over {len(ops)} operations, "
          f"statuses {sorted(set(calls))}")


# -- config loader ---------------------------------------------------------------------------
KEYS = ["monitoring_interval", "dashboard_port", "hosts", "services", "auth", "tokens", "tls",
        "privacy", "storage", "rules", "name", "role", "token_sha256", "token_env", "type", "url",
        "address", "redact_process_names", "alerting", "logging", "collectors", "x"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True), st.text(max_size=20), st.sampled_from(KEYS))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=20)


def _only_config_error(text: str) -> None:
    try:
        parse_config(text, "fuzz.yaml")
    except ConfigError as e:
        assert e.problems and all(p.startswith("fuzz.yaml:") for p in e.problems)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=6))
def test_config_structures_only_raise_config_error(data):
    _only_config_error(yaml.safe_dump(data))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("{}[]:-,'\"&*!|>#%@` \n\tabc019.")) , max_size=80))
def test_config_text_only_raises_config_error(text):
    _only_config_error(text)


# -- exposition parser -----------------------------------------------------------------------
LINES = ["# HELP m help", "# TYPE m counter", "# TYPE m histogram", "# TYPE m gauge",
         'm{a="1"} 1', "m_total 3", 'm_bucket{le="+Inf"} 1', "m_sum NaN", "m_count 2 123",
         'm{a="\\n"} -Inf', "m{} 1e400", "# EOF", "m 1 2 3", 'm{a="1",a="2"} 1', "m{a=1} 1", ""]


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.lists(st.sampled_from(LINES), max_size=8).map("\n".join), st.text(max_size=60)))
def test_exposition_parse_only_raises_value_error(text):
    try:
        parse(text)
    except ValueError:
        pass
