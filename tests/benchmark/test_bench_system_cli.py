"""System benchmark on a tmp scratch dir, and the CLI end to end (incl. the legacy spelling)."""

import json
import os
import subprocess
import sys
import textwrap

from autobot_monitor.benchmark import system


def test_disk_benchmark_runs_within_the_cap_and_removes_its_file(tmp_path):
    scratch = tmp_path / "scratch"
    d = system.disk(str(scratch), size_cap=4 << 20, seconds=0.6)
    assert 0 < d["file_bytes"] <= 4 << 20
    assert d["write_bytes_per_second"] > 0 and d["read_bytes_per_second"] > 0
    assert d["random_read_4k_iops"] > 0
    assert os.listdir(scratch) == []


def test_memory_and_cpu_figures_are_measured():
    m = system.memory_bandwidth(0.05, nbytes=4 << 20)
    assert m["bytes_per_second"] > 0 and m["passes"] >= 3 and m["method"]
    c = system.cpu(0.4)
    assert c["single_core_units_per_second"] > 0 and c["multi_core_units_per_second"] > 0


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "autobot_monitor.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_legacy_spelling_runs_the_system_benchmark_and_saves_json(tmp_path):
    r = _cli("--benchmark", "system", "--duration", "1", "--disk-size", "4M", "--json",
             "--data-dir", str(tmp_path / "d"), "--config", os.devnull, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    sysc = doc["categories"]["system"]
    assert 0 <= sysc["score"] <= 100 and doc["overall"]["score"] == sysc["score"]
    assert doc["overall"]["categories_run"] == ["system"]
    assert "log2" in doc["scoring"]["formula"]
    assert doc["categories"]["system"]["results"][0]["gpu"]["measured"] is False
    saved = os.listdir(tmp_path / "d" / "logs" / "benchmarks")
    assert len(saved) == 1 and saved[0].startswith("system-")
    assert os.listdir(tmp_path / "d" / "bench-scratch") == []


def test_unconfigured_categories_are_not_measured_and_api_uses_url(tmp_path, http_server):
    r = _cli("benchmark", "api", "--url", http_server.url("/"), "--duration", "0.5", "--json",
             "--no-save", "--config", os.devnull, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["categories"]["api"]["score"] is not None
    r = _cli("benchmark", "network", "--duration", "0.5", "--json", "--no-save",
             "--config", os.devnull, cwd=tmp_path)
    doc = json.loads(r.stdout)
    assert doc["categories"]["network"]["score"] is None
    assert doc["overall"]["score"] is None and doc["overall"]["grade"] is None


def test_db_not_in_config_is_refused_before_anything_runs(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(textwrap.dedent("""
        services:
          - {name: r, type: redis, address: "127.0.0.1:1", databases: [15]}
    """))
    r = _cli("benchmark", "database", "--db", "0", "--config", str(cfg), "--no-save", cwd=tmp_path)
    assert r.returncode == 2 and "not in its config" in r.stderr
