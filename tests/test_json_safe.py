"""NaN/±Inf to null, once (model.json_safe), for the hub snapshot, reports and the audit log."""

import json
import math

from autobot_monitor.model import json_safe


def test_non_finite_numbers_become_null_at_any_depth():
    doc = {"a": math.nan, "b": [1.5, math.inf, (-math.inf, 2)], "c": {"d": {"e": math.nan}},
           "f": "nan", "g": 3, "h": None, "i": True}
    out = json_safe(doc)
    assert out == {"a": None, "b": [1.5, None, [None, 2]], "c": {"d": {"e": None}},
                   "f": "nan", "g": 3, "h": None, "i": True}
    json.dumps(out, allow_nan=False)  # strict JSON now
    assert doc["a"] is math.nan or math.isnan(doc["a"])  # the input is left as it was
