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
