"""Notification delivery: the JSONL alerts log and webhook, Alertmanager, Slack and email channels.

:class:`Dispatcher` receives the engine's notifications each cycle, groups them by rule and
severity for ``group_wait`` seconds (0 = send what fired in the same cycle together), and hands
each group to every channel whose ``min_severity`` it meets. Each channel has its own bounded queue
and worker task, retries with exponential backoff (1 s, 2 s, 4 s... up to ``max_retries``), and
counts results in ``autobot_notifications_total{channel,result}`` (``sent``, ``failed``,
``dropped``): a slow or failing channel never delays evaluation or the other channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import httpx

from ..clock import Clock
from ..model import MetricFamily
from ..redaction import register_secret_url
from .config import ChannelConfig
from .engine import Alert, Notification
from .metrics import NOTIFY_SPEC

log = logging.getLogger(__name__)
alerts_log = logging.getLogger("autobot_monitor.alerts_log")

QUEUE_SIZE = 100


def _iso(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z") if t else None


def alert_payload(kind: str, a: Alert) -> dict[str, Any]:
    """The generic JSON form of one notified alert."""
    return {"status": kind, "fingerprint": a.fingerprint, "rule": a.rule, "labels": a.labels,
            "severity": a.severity, "category": a.category, "value": a.value,
            "threshold": a.threshold, "summary": a.summary, "description": a.description,
            "startsAt": _iso(a.fired_at or a.active_since), "endsAt": _iso(a.resolved_at)}


def alertmanager_payload(group: list[Notification]) -> list[dict[str, Any]]:
    """Alertmanager ``POST /api/v2/alerts`` body: resolved alerts carry ``endsAt``."""
    out: list[dict[str, Any]] = []
    for n in group:
        a = n.alert
        item = {"labels": {**a.labels, "alertname": a.rule, "severity": a.severity,
                           "category": a.category},
                "annotations": {"summary": a.summary, "description": a.description},
                "startsAt": _iso(a.fired_at or a.active_since)}
        if n.kind == "resolved":
            item["endsAt"] = _iso(a.resolved_at)
        out.append(item)
    return out


def slack_text(group: list[Notification]) -> str:
    lines = []
    for n in group:
        a = n.alert
        mark = {"firing": "FIRING", "resolved": "RESOLVED", "flapping": "FLAPPING"}[n.kind]
        lines.append(f"[{mark}] [{a.severity}] {a.rule}: {a.summary}")
    return "\n".join(lines)


class Channel:
    """One configured channel with its queue and worker."""

    def __init__(self, cfg: ChannelConfig, client: httpx.AsyncClient,
                 counts: dict[tuple[str, str], int]):
        self.cfg = cfg
        self.client = client
        self.counts = counts
        register_secret_url(cfg.url, whole=cfg.type in ("slack", "webhook"))  # masked in logs
        self.queue: asyncio.Queue[list[Notification]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.task: asyncio.Task[None] | None = None
        self.backoff_base = 1.0
        self.in_flight = 0
        self.queued = 0  # notifications in the queue's groups

    def _count(self, result: str, n: int = 1) -> None:
        key = (self.cfg.name, result)
        self.counts[key] = self.counts.get(key, 0) + n

    def offer(self, group: list[Notification]) -> None:
        group = [n for n in group if n.alert.severity >= self.cfg.min_severity]
        if not group:
            return
        if self.queue.full():
            oldest = self.queue.get_nowait()
            self.queued -= len(oldest)
            self._count("dropped", len(oldest))
            self.queue.task_done()
            log.warning("channel %s is backed up: dropped the oldest notification", self.cfg.name)
        self.queue.put_nowait(group)
        self.queued += len(group)

    async def run(self) -> None:
        while True:
            group = await self.queue.get()
            self.queued -= len(group)
            self.in_flight = len(group)
            try:
                await self._deliver(group)
            finally:
                self.in_flight = 0
                self.queue.task_done()

    def pending(self) -> int:
        """Notifications queued or being delivered."""
        return self.queued + self.in_flight

    async def _deliver(self, group: list[Notification]) -> None:
        for attempt in range(self.cfg.max_retries + 1):
            try:
                async with asyncio.timeout(self.cfg.timeout):
                    await self.send(group)
                self._count("sent", len(group))
                break
            except Exception as e:  # noqa: BLE001 - any failure is retried and counted
                log.warning("channel %s: delivery failed (attempt %d): %s: %s", self.cfg.name,
                            attempt + 1, type(e).__name__, str(e)[:200])
                if attempt == self.cfg.max_retries:
                    self._count("failed", len(group))
                else:
                    await asyncio.sleep(self.backoff_base * 2 ** attempt)

    def _url(self) -> str:
        if not self.cfg.url:  # ChannelConfig requires one for every type but email
            raise ValueError(f"channel {self.cfg.name} has no url")
        return self.cfg.url

    async def send(self, group: list[Notification]) -> None:
        """Deliver ``group`` once (raises on any failure; :meth:`_deliver` retries)."""
        t = self.cfg.type
        if t == "webhook":
            body = {"version": "1", "receiver": self.cfg.name,
                    "status": "firing" if any(n.kind != "resolved" for n in group) else "resolved",
                    "alerts": [alert_payload(n.kind, n.alert) for n in group]}
            (await self.client.post(self._url(), json=body)).raise_for_status()
        elif t == "alertmanager":
            url = self._url().rstrip("/")
            if not url.endswith("/api/v2/alerts"):
                url += "/api/v2/alerts"
            (await self.client.post(url, json=alertmanager_payload(group))).raise_for_status()
        elif t == "slack":
            (await self.client.post(self._url(), json={"text": slack_text(group)})).raise_for_status()
        elif t == "email":
            await asyncio.to_thread(self._send_email, group)

    def _send_email(self, group: list[Notification]) -> None:
        c = self.cfg
        msg = EmailMessage()
        first = group[0]
        msg["Subject"] = (f"[autobot-monitor] {first.kind.upper()} {first.alert.rule}"
                          + (f" (+{len(group) - 1})" if len(group) > 1 else ""))
        msg["From"] = c.email_from
        msg["To"] = ", ".join(c.email_to)
        msg.set_content(slack_text(group) + "\n\n" + json.dumps(
            [alert_payload(n.kind, n.alert) for n in group], indent=2))
        password = os.environ.get(c.smtp_password_env) if c.smtp_password_env else None
        host = c.smtp_host or ""  # ChannelConfig requires smtp_host for email
        smtp: smtplib.SMTP = (
            smtplib.SMTP_SSL(host, c.smtp_port, timeout=c.timeout,
                             context=ssl.create_default_context())
            if c.smtp_tls else smtplib.SMTP(host, c.smtp_port, timeout=c.timeout))
        with smtp as s:
            if c.smtp_starttls:
                s.starttls(context=ssl.create_default_context())
            if c.smtp_username and password:
                s.login(c.smtp_username, password)
            s.send_message(msg)


class Dispatcher:
    """Groups notifications and feeds channels; also writes every notification to the alerts log
    (``logs/alerts.log``, JSONL, rotated by the logging setup)."""

    def __init__(self, channels: list[ChannelConfig], clock: Clock, group_wait: float = 0.0,
                 counts: dict[tuple[str, str], int] | None = None):
        self.clock = clock
        self.group_wait = group_wait
        self.counts: dict[tuple[str, str], int] = {} if counts is None else counts
        self._client = httpx.AsyncClient(follow_redirects=False)
        self.channels = [Channel(c, self._client, self.counts) for c in channels]
        self._groups: dict[tuple[str, str], tuple[float, list[Notification]]] = {}

    def start(self) -> None:
        for ch in self.channels:
            if ch.task is None:
                ch.task = asyncio.create_task(ch.run(), name=f"notify-{ch.cfg.name}")

    def submit(self, notes: list[Notification]) -> None:
        """Queue this cycle's notifications (never blocks)."""
        now = self.clock.time()
        for n in notes:
            alerts_log.info(json.dumps({"time": now, **alert_payload(n.kind, n.alert)},
                                       separators=(",", ":"), default=str))
            key = (n.alert.rule, n.alert.severity)
            first, items = self._groups.get(key, (now, []))
            items = [x for x in items if x.alert.fingerprint != n.alert.fingerprint] + [n]
            self._groups[key] = (first, items)
        self.flush()

    def flush(self, force: bool = False) -> None:
        """Send groups that have waited ``group_wait`` seconds (all of them if ``force``)."""
        now = self.clock.time()
        for key, (first, items) in list(self._groups.items()):
            if force or now - first >= self.group_wait:
                del self._groups[key]
                for ch in self.channels:
                    ch.offer(items)

    def families(self) -> list[MetricFamily]:
        fam = NOTIFY_SPEC.family()
        for (ch, result), n in sorted(self.counts.items()):
            fam.add(n, {"channel": ch, "result": result})
        return [fam]

    async def drain(self, deadline: float) -> int:
        """Send every group still waiting, wait up to ``deadline`` seconds for each channel to
        deliver what it has queued or in flight (retries included), then close. Returns how
        many notifications were left undelivered at the deadline (counted ``dropped``)."""
        self.flush(force=True)
        try:
            async with asyncio.timeout(deadline):
                for ch in self.channels:
                    await ch.queue.join()
            left = 0
        except TimeoutError:
            left = 0
            for ch in self.channels:
                n = ch.pending()
                if n:
                    ch._count("dropped", n)
                    log.warning("channel %s: %d notification(s) undelivered %.0f s after a "
                                "reload replaced it", ch.cfg.name, n, deadline)
                left += n
        await self.aclose()
        return left

    async def aclose(self) -> None:
        for ch in self.channels:
            if ch.task is not None:
                ch.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ch.task
        await self._client.aclose()
