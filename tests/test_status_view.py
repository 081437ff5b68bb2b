"""The `status` table's availability cell shows how much of the 24 h was monitored."""

from autobot_monitor.status_view import _avail


def test_availability_cell_says_how_much_was_monitored():
    assert _avail({"availability_24h_percent": 100.0, "coverage_24h_percent": 0.88}) == \
        "100.00% (monitored 0.9%)"
    assert _avail({"availability_24h_percent": None, "coverage_24h_percent": 0.0}) == "n/m"
    assert _avail({}) == "n/m"


def test_host_cells_show_the_declared_figures_with_their_precision_and_unit():
    from autobot_monitor.status_view import HOST_COLUMNS, host_cells

    s = {"cpu_percent": 37.54, "load1": 0.5, "memory": {"used_percent": 25.0},
         "disk_used_percent_max": 75.0, "network": {"receive_bytes_per_second": 2048.0,
                                                    "transmit_bytes_per_second": 300.0},
         "disk_io": {"read_bytes_per_second": 150.0, "written_bytes_per_second": None},
         "gpu_available": 1, "gpus": [{"utilization_percent": 87.0}, {"utilization_percent": None}]}
    assert [c for c, _ in HOST_COLUMNS][2:] == ["CPU", "memory", "disk max", "load1", "net rx",
                                                "net tx", "disk read/write"]
    assert host_cells(s) == ["37.5%", "25.0%", "75.0%", "0.50", "2.0K/s", "300.0B/s",
                             "150.0B/s / n/m", "87.0%, n/m"]
    assert host_cells({}) == ["n/m"] * 6 + ["n/m / n/m", "n/m"]
    assert host_cells({"gpu_available": 0})[-1] == "none"


def _health_summary():
    """A host summary as the hub builds it from tests/fixtures/scrape/host_health.prom."""
    from pathlib import Path

    from autobot_monitor import exposition
    from autobot_monitor.hub.summary import summarize

    prom = Path(__file__).resolve().parent / "fixtures" / "scrape" / "host_health.prom"
    return summarize(exposition.parse(prom.read_text()))


def test_health_cells_show_psi_clock_failed_units_and_failed_disks():
    from autobot_monitor.status_health import health_cells

    assert health_cells(_health_summary()) == [
        "cpu 12.5% mem 3.0%/1.0% io n/m/n/m", "NOT synced, offset -4.2 ms",
        "2: <img src=x onerror=window.__xss=3>.service, backup.service",
        "nvme0 FAILED 41°C wear 7% 3 media errors"]
    # a host without PSI, timex, systemd or S.M.A.R.T.: not measured, never 0 / none
    assert health_cells({}) == ["cpu n/m mem n/m/n/m io n/m/n/m", "n/m", "n/m", "n/m"]
    ok = {"units": {"failed": 0.0}, "failed_units": [], "clock": {"synchronised": 1.0,
          "offset_seconds": 0.0004}, "disks": [{"device": "sda", "smart_status": 1.0}]}
    assert health_cells(ok)[1:] == ["synced, offset +0.4 ms", "none", "1 passed"]


def test_containers_top_five_by_cpu_with_no_limit():
    from autobot_monitor.status_health import container_rows

    rows, more = container_rows(_health_summary()["containers"])
    assert more == 8 and len(rows) == 5
    assert rows[0] == ["batch-unlimited", "150.2%", "no limit", "2.0G", "no limit", "0"]
    assert rows[1] == ["web", "48.5%", "0.5 cores", "384.0M", "512.0M", "1"]
    assert rows[2][0] == "<b>evil-container</b>"
    assert container_rows([]) == ([], 0)
    assert container_rows([{"id": "/x.service", "name": "", "cpu_percent": None}])[0] == [
        ["/x.service", "n/m", "no limit", "n/m", "n/m", "n/m"]]  # no memory measured: n/m


def test_status_prints_names_with_markup_and_control_codes_as_text():
    from rich.console import Console

    from autobot_monitor.status_health import print_host_health, units_text

    s = _health_summary()
    s["failed_units"][1]["name"] = "[red]x[/]\x1b]0;pwned\x07.service"
    con = Console(record=True, width=200, force_terminal=False)
    print_host_health(con, {"box-1": {"summary": s}, "bare": {"summary": {}}})
    out = con.export_text()
    assert "<img src=x onerror=window.__xss=3>.service" in out
    assert units_text(s).endswith(", [red]x[/]\\x1b]0;pwned\\x07.service")
    assert "[red]x[/]" in out  # printed as text, not as red "x"
    assert "\x1b" not in out and "\x07" not in out
    assert "Containers on box-1 (top 5 of 13 by CPU)" in out and "Containers on bare" not in out
    assert "<b>evil-container</b>" in out
