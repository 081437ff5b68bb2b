"""Derived memory figures from recorded /proc/meminfo variants (tests/fixtures/meminfo) through
the real collector: the estimate free/procps use when MemAvailable is missing or implausible,
absent (never 0 % or 100 %) when the inputs cannot give a true figure."""

from __future__ import annotations

from pathlib import Path

import pytest

from autobot_monitor.collectors.memory import MemoryCollector

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "meminfo"


def collect(host, name):
    host.proc("meminfo", (FIXTURES / name).read_text())
    fams = MemoryCollector(host.ctx()).collect()
    return {f.name: f.samples[0].value for f in fams if f.samples}


def test_kernel_without_memavailable_uses_the_procps_estimate(host):
    v = collect(host, "kernel-2.6.32")
    assert "node_memory_MemAvailable_bytes" not in v  # not invented as a raw field
    est = 913572 + 304216 + 4820812 + 386540  # MemFree + Buffers + Cached + SReclaimable
    assert v["autobot_memory_used_percent"] == pytest.approx((8061404 - est) * 100 / 8061404)
    assert v["autobot_swap_used_percent"] == pytest.approx((4194296 - 4171880) * 100 / 4194296)


def test_zero_total_gives_no_percentages(host):
    v = collect(host, "zero-total")
    assert v["node_memory_MemTotal_bytes"] == 0
    assert "autobot_memory_used_percent" not in v and "autobot_swap_used_percent" not in v


def test_available_above_total_falls_back_and_swap_free_above_total_is_absent(host):
    v = collect(host, "avail-over-total")
    est = 524288 + 0 + 262144 + 65536
    assert v["autobot_memory_used_percent"] == pytest.approx((2097152 - est) * 100 / 2097152)
    assert "autobot_swap_used_percent" not in v  # SwapFree > SwapTotal: not a 0 % to show


def test_estimate_inputs_missing_gives_no_percentage(host):
    v = collect(host, "no-cached")
    assert "autobot_memory_used_percent" not in v and "autobot_swap_used_percent" not in v
