"""The one parser of durations and times: config style (ValueError) and request style (BadRequest)."""

from datetime import UTC, datetime

import pytest

from autobot_monitor.errors import BadRequest
from autobot_monitor.timeparse import MAX_SPAN, parse_duration, parse_time


@pytest.mark.parametrize(("value", "seconds"), [
    (30, 30.0), (0, 0.0), (1.5, 1.5), ("30", 30.0), ("500ms", 0.5), (" 5m ", 300.0), ("1h", 3600.0),
    ("2d", 172800.0), ("1w", 604800.0),
])
def test_config_durations(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(("value", "message"), [
    ("5 minutes", "expected a duration like 30s, 5m, 1h, got '5 minutes'"),
    (True, "expected a duration like 30s, 5m, 1h, got True"),
    (None, "expected a duration like 30s, 5m, 1h, got None"),
    (-1, "must be a finite number of seconds, not negative"),
    (float("inf"), "must be a finite number of seconds, not negative"),
])
def test_config_duration_errors_are_value_errors(value, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(") + "$") as e:
        parse_duration(value)
    assert not isinstance(e.value, BadRequest)


def test_request_durations_are_positive_and_bounded():
    assert parse_duration("90s", "step") == 90.0
    with pytest.raises(BadRequest, match=r"^step: expected seconds or a duration like 30s, 5m, 1h, got 'x'$"):
        parse_duration("x", "step")
    with pytest.raises(BadRequest, match=r"^step: must be more than 0 and at most"):
        parse_duration("0", "step")
    with pytest.raises(BadRequest, match=r"^window: must be more than 0"):
        parse_duration(f"{MAX_SPAN * 2:.0f}", "window")


def test_times():
    now = 1_800_000_000.0
    assert parse_time("now", "end", now) == now
    assert parse_time(" now-1h ", "end", now) == now - 3600
    assert parse_time("1700000000.5", "start", now) == 1_700_000_000.5
    assert parse_time("2026-11-29T16:00:00Z", "start", now) == datetime(2026, 11, 29, 16, tzinfo=UTC).timestamp()
    for bad, msg in [("yesterday", "expected Unix seconds, RFC 3339 or now-DURATION"),
                     ("-5", "must be a time between 1970 and the year 5000"),
                     ("now-soon", "expected seconds or a duration")]:
        with pytest.raises(BadRequest, match=f"^start: {msg}"):
            parse_time(bad, "start", now)
