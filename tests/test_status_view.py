"""The `status` table's availability cell shows how much of the 24 h was monitored."""

from autobot_monitor.status_view import _avail


def test_availability_cell_says_how_much_was_monitored():
    assert _avail({"availability_24h_percent": 100.0, "coverage_24h_percent": 0.88}) == \
        "100.00% (monitored 0.9%)"
    assert _avail({"availability_24h_percent": None, "coverage_24h_percent": 0.0}) == "n/m"
    assert _avail({}) == "n/m"
