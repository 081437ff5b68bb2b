"""Notification channels against real local receivers: an HTTP server for webhook, Slack and
Alertmanager-style pushes, an SMTP server (aiosmtpd) for email."""

import pytest
from aiosmtpd.controller import Controller

from autobot_monitor.alerts.config import AlertingConfig, ChannelConfig, RuleConfig
from autobot_monitor.alerts.engine import AlertEngine
from autobot_monitor.alerts.notify import Dispatcher
from autobot_monitor.clock import FakeClock
from support import Receiver, free_port, wait_until_async


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


class Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp():
    sink = Sink()
    c = Controller(sink, hostname="127.0.0.1", port=free_port())
    c.start()
    yield c, sink
    c.stop()


RULE = RuleConfig.model_validate({"name": "HighCpu", "metric": "node_load1", "threshold": 1,
                                  "severity": "critical", "summary": "load {{ value }} on {{ host }}"})


async def wait_for(pred, timeout=10):
    await wait_until_async(pred, timeout, 0.02)


async def test_all_channels_deliver_firing_and_resolved(receiver, smtp):
    ctrl, sink = smtp
    clock = FakeClock()
    chans = [ChannelConfig(name="hook", type="webhook", url=receiver.url + "/hook"),
             ChannelConfig(name="am", type="alertmanager", url=receiver.url),
             ChannelConfig(name="slack", type="slack", url=receiver.url + "/slack"),
             ChannelConfig(name="mail", type="email", smtp_host="127.0.0.1", smtp_port=ctrl.port,
                           email_from="monitor@example.test", email_to=["ops@example.test"])]
    d = Dispatcher(chans, clock)
    d.start()
    eng = AlertEngine(clock)
    d.submit(eng.evaluate(RULE, [({"host": "h1"}, 5.0)]))
    await wait_for(lambda: len(receiver.posts) >= 3 and len(sink.messages) >= 1)
    clock.advance(10)
    d.submit(eng.evaluate(RULE, [({"host": "h1"}, 0.1)]))
    await wait_for(lambda: len(receiver.posts) >= 6 and len(sink.messages) >= 2)
    # a delivery counts once its answer is back, a moment after the receiver recorded it
    await wait_for(lambda: d.counts.get(("hook", "sent")) == 2 and d.counts.get(("mail", "sent")) == 2)
    await d.aclose()
    by_path = {}
    for p, body in receiver.posts:
        by_path.setdefault(p, []).append(body)
    assert [b["status"] for b in by_path["/hook"]] == ["firing", "resolved"]
    assert by_path["/hook"][0]["alerts"][0]["summary"] == "load 5 on h1"
    am = by_path["/api/v2/alerts"]
    assert am[0][0]["labels"]["alertname"] == "HighCpu" and "endsAt" not in am[0][0]
    assert "endsAt" in am[1][0]
    assert by_path["/slack"][0]["text"].startswith("[FIRING] [critical] HighCpu")
    assert b"FIRING HighCpu" in sink.messages[0].content
    assert d.counts[("hook", "sent")] == 2 and d.counts[("mail", "sent")] == 2


async def test_failing_and_slow_channels_do_not_delay_others(receiver):
    clock = FakeClock()
    chans = [ChannelConfig(name="bad", type="webhook", url=receiver.url + "/fail", max_retries=2),
             ChannelConfig(name="slow", type="webhook", url=receiver.url + "/slow", timeout=1,
                           max_retries=0),
             ChannelConfig(name="dead", type="webhook", url=f"http://127.0.0.1:{free_port()}/x",
                           max_retries=1),
             ChannelConfig(name="good", type="webhook", url=receiver.url + "/good")]
    d = Dispatcher(chans, clock)
    for ch in d.channels:
        ch.backoff_base = 0.05
    d.start()
    eng = AlertEngine(clock)
    d.submit(eng.evaluate(RULE, [({"host": "h1"}, 5.0)]))
    # submit never waits for delivery: it returns with every channel's notification still queued
    assert receiver.posts == [] and [ch.pending() for ch in d.channels] == [1, 1, 1, 1]
    await wait_for(lambda: "/good" in receiver.paths(), 2)
    await wait_for(lambda: d.counts.get(("bad", "failed")) == 1 and d.counts.get(("dead", "failed")) == 1
                   and d.counts.get(("slow", "failed")) == 1, 10)
    assert receiver.paths().count("/fail") == 3  # first try + 2 retries
    fams = {(s.label_dict["channel"], s.label_dict["result"]): s.value
            for s in d.families()[0].samples}
    assert fams[("good", "sent")] == 1 and fams[("bad", "failed")] == 1
    await d.aclose()


async def test_grouping_and_min_severity(receiver):
    clock = FakeClock()
    d = Dispatcher([ChannelConfig(name="hook", type="webhook", url=receiver.url + "/hook"),
                    ChannelConfig(name="pager", type="webhook", url=receiver.url + "/pager",
                                  min_severity="critical")], clock, group_wait=30)
    d.start()
    eng = AlertEngine(clock)
    low = RuleConfig.model_validate({"name": "Low", "metric": "node_load1", "threshold": 1, "severity": "low"})
    d.submit(eng.evaluate(low, [({"host": "a"}, 5.0)]))
    clock.advance(10)
    d.submit(eng.evaluate(low, [({"host": "a"}, 5.0), ({"host": "b"}, 5.0)]))
    # still inside group_wait: nothing handed to any channel, so nothing can be sent
    assert [ch.pending() for ch in d.channels] == [0, 0] and receiver.posts == []
    clock.advance(25)
    d.submit([])
    # the group went to the hook only (pager takes critical only): the hook delivers it
    assert [ch.pending() for ch in d.channels] == [2, 0]  # one group of two alerts
    await wait_for(lambda: d.counts.get(("hook", "sent")) == 2)
    assert receiver.paths() == ["/hook"] and ("pager", "sent") not in d.counts
    assert sorted(a["labels"]["host"] for a in receiver.posts[0][1]["alerts"]) == ["a", "b"]
    await d.aclose()


def test_alerting_config_validates_channels():
    with pytest.raises(ValueError):
        AlertingConfig.model_validate({"channels": [{"name": "m", "type": "email"}]})
    with pytest.raises(ValueError):
        AlertingConfig.model_validate({"channels": [{"name": "w", "type": "webhook", "url": "ftp://x"}]})
