"""Alert rules name sample names: a rule on a histogram's ``x_bucket``/``x_count`` still finds
the samples of the one histogram family the hub now parses."""

from autobot_monitor.alerts.service import build_index
from autobot_monitor.exposition import parse

TEXT = """# TYPE req_seconds histogram
req_seconds_bucket{le="1"} 3
req_seconds_bucket{le="+Inf"} 4
req_seconds_sum 2.5
req_seconds_count 4
# TYPE g gauge
g 7
"""


def test_rules_on_histogram_samples_find_them():
    idx = build_index(parse(TEXT), {"req_seconds_count", "req_seconds_bucket", "g"})
    assert [s.value for s in idx["req_seconds_count"]] == [4]
    assert [s.label_dict["le"] for s in idx["req_seconds_bucket"]] == ["1.0", "+Inf"]
    assert [s.value for s in idx["g"]] == [7]
    assert "req_seconds_sum" not in idx
