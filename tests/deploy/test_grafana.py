"""deploy/grafana: dashboards are fresh from build_dashboards.py, select their data source and hosts
through variables, query only metric names the product emits, parse as PromQL (promtool), and
answer from a real Prometheus scraping a real hub the way deploy/prometheus/prometheus.yml does."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml
from deploy_support import DEPLOY, HUB_HOST, tool

from autobot_monitor.catalog import is_known_metric
from support import free_port, wait_until

DASHBOARDS = sorted((DEPLOY / "grafana/dashboards").glob("*.json"))
PROMTOOL = tool("promtool")
PROMETHEUS = tool("prometheus")

# PromQL words that look like identifiers but are not metric names.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
            "unless", "offset", "inf", "nan", "atan2"}
IDENT = re.compile(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """Metric names referenced by a PromQL ``expr``: identifiers left once strings, label matchers,
    range selectors, grouping label lists, function calls and keywords are removed."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in IDENT.finditer(e):
        if e[m.end():].lstrip().startswith("(") or m.group(0).lower() in KEYWORDS:
            continue
        names.add(m.group(0))
    return names


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def panel_exprs(board: dict) -> list[str]:
    out = []
    for p in board["panels"]:
        for t in p.get("targets", []):
            out.append(t["expr"])
    return out


def variable_exprs(board: dict) -> list[str]:
    """The series selectors of ``label_values(SELECTOR, label)`` variable queries."""
    out = []
    for v in board["templating"]["list"]:
        if v["type"] == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", q)
            assert m, f"{v['name']}: unexpected variable query {q!r}"
            out.append(m.group(1))
    return out


def substitute(expr: str) -> str:
    """Grafana's variables replaced the way Grafana would for "All" and a 1 m rate interval."""
    return (expr.replace("$__rate_interval", "1m").replace("$host", ".*")
            .replace("$service", ".*"))


def test_metric_name_extraction():
    assert metric_names('sum by (le, job) (rate(foo_bucket{a="b",host=~"$host"}[$__rate_interval]))'
                        ' / on(x) group_left bar_total > 0.5 or vector(0)') == {"foo_bucket", "bar_total"}
    assert metric_names("histogram_quantile(0.99, x) * 100 and y offset 5m") == {"x", "y"}
    assert not is_known_metric("autobot_made_up_seconds")


def test_dashboards_are_fresh_from_the_generator():
    spec = importlib.util.spec_from_file_location("build_dashboards", DEPLOY / "grafana/build_dashboards.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rendered = mod.render_all()
    assert sorted(rendered) == [p.name for p in DASHBOARDS]
    for p in DASHBOARDS:
        assert p.read_text() == rendered[p.name], f"{p.name} is stale: python deploy/grafana/build_dashboards.py"


def test_expected_dashboards_exist():
    titles = {load(p)["title"] for p in DASHBOARDS}
    for want in ("Host overview", "Services", "Redis", "GPU and NPU", "Alerts"):
        assert f"autobot-monitor / {want}" in titles
    assert len({load(p)["uid"] for p in DASHBOARDS}) == len(DASHBOARDS)


def _datasource_refs(node, path="$"):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "datasource":
                yield path, v
            yield from _datasource_refs(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _datasource_refs(v, f"{path}[{i}]")


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_uses_datasource_and_host_variables(path: Path):
    board = load(path)
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    host = variables["host"]
    q = host["query"]["query"]
    assert re.fullmatch(r"label_values\(.+,\s*host\)", q), q
    refs = list(_datasource_refs(board))
    assert refs
    for where, ref in refs:
        assert ref == {"type": "prometheus", "uid": "${datasource}"}, f"{where}: {ref}"
    assert "__inputs" not in board  # provisioning files, not export-for-sharing templates
    for p in board["panels"]:
        assert {"x", "y", "w", "h"} <= set(p["gridPos"])
        refids = [t["refId"] for t in p.get("targets", [])]
        assert len(refids) == len(set(refids))


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_queries_only_emitted_metrics(path: Path):
    board = load(path)
    exprs = panel_exprs(board) + variable_exprs(board)
    assert exprs
    names = set().union(*(metric_names(e) for e in exprs))
    unknown = sorted(n for n in names if n != "up" and not is_known_metric(n))
    assert not unknown, f"{path.name} queries metrics nothing emits: {unknown}"


@pytest.mark.skipif(not PROMTOOL, reason="promtool not installed")
def test_every_dashboard_query_parses_as_promql(tmp_path: Path):
    """Each expression as a recording rule, so that promtool parses it."""
    rules = [{"record": f"dashboard:query:{i}", "expr": substitute(e)}
             for i, e in enumerate(e for p in DASHBOARDS for e in panel_exprs(load(p)) + variable_exprs(load(p)))]
    f = tmp_path / "dash-rules.yml"
    f.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    r = subprocess.run([PROMTOOL, "check", "rules", str(f)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_provisioning_files():
    ds = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/autobot-prometheus.yaml").read_text())
    assert ds["apiVersion"] == 1 and ds["datasources"][0]["type"] == "prometheus"
    dp = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/autobot-monitor.yaml").read_text())
    prov = dp["providers"][0]
    assert prov["type"] == "file" and prov["options"]["path"]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory, live_hub):
    """A real Prometheus scraping the live hub with deploy/prometheus/prometheus.yml's job."""
    if not PROMETHEUS:
        pytest.skip("prometheus not installed (Debian: prometheus)")
    tmp = tmp_path_factory.mktemp("prom")
    cfg = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    cfg["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    cfg.pop("alerting")
    cfg["rule_files"] = [str(DEPLOY / "prometheus/autobot-rules.yml")]
    cfg["scrape_configs"][0]["static_configs"] = [{"targets": [f"127.0.0.1:{live_hub['port']}"]}]
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(cfg))
    port = free_port()
    log = open(tmp / "prometheus.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([PROMETHEUS, f"--config.file={tmp / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def has(metric: str):
        r = httpx.get(url + "/api/v1/query", params={"query": metric}, timeout=3).json()
        return r["data"]["result"]

    try:
        # three scrapes' worth, so that rate() over 1m has points
        wait_until(lambda: has("count_over_time(autobot_redis_commands_processed_total[1m]) >= 3"),
                   60, 0.5, "Prometheus scraping the hub")
        yield url
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def _query(url: str, expr: str) -> dict:
    return httpx.get(url + "/api/v1/query", params={"query": expr, "time": time.time()}, timeout=10).json()


def test_host_variable_lists_the_hub_host_from_prometheus(prometheus):
    r = httpx.get(prometheus + "/api/v1/label/host/values", params={"match[]": "node_load1"}, timeout=10).json()
    assert r["status"] == "success" and HUB_HOST in r["data"]


# Panels that must show data on any Linux host with a Redis and an HTTP check, behind the hub.
MUST_HAVE_DATA = ("CPU busy", "Memory used", "Load average", "Filesystem used", "Received",
                  "Services up", "Response time", "PING round trip", "Commands per second", "Memory",
                  "Clients", "Keys per database", "Hosts down", "Active alerts by severity",
                  "GPU available")


def test_every_dashboard_query_runs_on_prometheus(prometheus):
    missing = []
    for path in DASHBOARDS:
        board = load(path)
        for p in board["panels"]:
            got = False  # a panel shows data when any of its queries answers (maxmemory may be absent)
            for t in p.get("targets", []):
                r = _query(prometheus, substitute(t["expr"]))
                assert r["status"] == "success", f"{path.name} / {p['title']}: {r}"
                got = got or bool(r["data"]["result"])
            if p["title"] in MUST_HAVE_DATA and not got:
                missing.append(f"{path.name} / {p['title']}")
    assert not missing, "no data for: " + "; ".join(missing)


def test_exported_rules_load_and_evaluate_on_prometheus(prometheus):
    r = httpx.get(prometheus + "/api/v1/rules", timeout=10).json()
    rules = [rule for g in r["data"]["groups"] for rule in g["rules"]]
    assert rules and all(rule["health"] in ("ok", "unknown") for rule in rules), rules
