"""Configuration of alert rules and notification channels (pydantic, unknown keys refused).

A rule::

    - name: HighCpuUsage
      metric: autobot_cpu_busy_percent     # selector: name + label matchers
      match: ["cpu=all", "host=~web-.*"]   # label matchers: = != =~ !~ (RE2, anchored)
      fn: value                             # value | avg | max | min | rate | time_to_threshold | anomaly
      window: 5m                            # for every fn but value
      op: ">"                               # > >= < <= == !=
      threshold: 80
      clear: 75                             # hysteresis: firing ends only once this is crossed
      for: 1m                               # pending time before firing
      keep_firing_for: 0s
      severity: high                        # critical | high | medium | low
      category: cpu
      summary: "CPU {{ value }}% on {{ host }}"

``match`` is a list of matchers (:mod:`..matchers`). A mapping ``{name: value}`` is read too
(equality); its old ``"~re"`` / ``"!v"`` values are deprecated: :func:`legacy_rule_matchers`
lists them so the loader can say what to write instead.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from ..matchers import Matcher, legacy_spellings, matchers_from
from ..model import METRIC_NAME_RE
from ..severity import Severity
from ..timeparse import parse_duration

Op = Literal[">", ">=", "<", "<=", "==", "!="]
Fn = Literal["value", "avg", "max", "min", "rate", "time_to_threshold", "anomaly"]

def _matchers(v: object) -> tuple[Matcher, ...]:
    return tuple(matchers_from(v))  # type: ignore[arg-type]  # checked there: MatcherError


Matchers = Annotated[tuple[Matcher, ...], BeforeValidator(_matchers),
                     PlainSerializer(lambda t: [str(m) for m in t], return_type=list[str])]
"""Label matchers in config and API bodies: a list of ``"name=~re"`` texts or a mapping; dumped
as the list of texts."""


def legacy_rule_matchers(data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """``(location, message)`` for each deprecated ``"~re"``/``"!v"`` matcher in the raw config
    mapping ``data`` (``rules[i].match.NAME``), the message saying what to write instead."""
    rules = data.get("rules") if isinstance(data, dict) else None
    out: list[tuple[tuple[str | int, ...], str]] = []
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        match = rule.get("match") if isinstance(rule, dict) else None
        for name, new in legacy_spellings(match):
            out.append((("rules", i, "match", name),
                        f"the '~regex'/'!value' spelling is deprecated: write match as a list, "
                        f"e.g. [{new!r}]"))
    return out


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RuleConfig(_M):
    """One alert rule; see the module docstring for the YAML shape."""

    name: str
    metric: str
    match: Matchers = ()
    fn: Fn = "value"
    window: float = 300.0
    op: Op = ">"
    threshold: float
    target: float | None = Field(None, description="value the time_to_threshold fn predicts")
    clear: float | None = None
    for_: float = Field(0.0, alias="for")
    keep_firing_for: float = 0.0
    severity: Severity = Severity.MEDIUM
    category: str = "general"
    summary: str = "{{ rule }}: {{ value }}"
    description: str = ""
    priority_escalation: bool = Field(True, description="critical-priority hosts raise severity one step")

    @field_validator("window", "for_", "keep_firing_for", mode="before")
    @classmethod
    def _dur(cls, v: object) -> float:
        return parse_duration(v)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.match(r"^[A-Za-z][A-Za-z0-9_]{0,99}$", v):
            raise ValueError("rule names are letters, digits and '_', starting with a letter")
        return v

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        """A valid name; a ``node_``/``autobot_`` metric nothing emits is refused (the legacy
        shipped an alert that could never fire). Other names (application metrics from scraped
        targets) are checked at run time (``GET /api/alerts/rules``: ``metric_seen``)."""
        if not METRIC_NAME_RE.match(v):
            raise ValueError(f"{v!r} is not a valid metric name")
        from ..catalog import is_known_metric

        if v.startswith(("node_", "autobot_")) and not is_known_metric(v):
            raise ValueError(f"no collector or check emits {v!r}")
        return v

    @model_validator(mode="after")
    def _clear_side(self) -> RuleConfig:
        if self.fn == "time_to_threshold" and self.target is None:
            raise ValueError("fn time_to_threshold needs a target (the value whose arrival is predicted)")
        if self.clear is not None:
            if self.op in (">", ">=") and self.clear > self.threshold:
                raise ValueError("clear must not be above threshold for a '>' rule")
            if self.op in ("<", "<=") and self.clear < self.threshold:
                raise ValueError("clear must not be below threshold for a '<' rule")
            if self.op in ("==", "!="):
                raise ValueError("clear (hysteresis) needs an ordering operator")
        return self


class ChannelConfig(_M):
    """A notification channel. ``type``: ``webhook`` (generic JSON POST), ``alertmanager``
    (POST /api/v2/alerts at ``url``), ``slack`` (incoming webhook), ``email`` (SMTP)."""

    name: str
    type: Literal["webhook", "alertmanager", "slack", "email"]
    url: str | None = None
    min_severity: Severity = Severity.LOW
    timeout: float = Field(5.0, gt=0, le=60)
    max_retries: int = Field(3, ge=0, le=10)
    # email
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_tls: bool = False
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password_env: str | None = None
    email_from: str | None = None
    email_to: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _needs(self) -> ChannelConfig:
        if self.type == "email":
            if not (self.smtp_host and self.email_from and self.email_to):
                raise ValueError("email channels need smtp_host, email_from and email_to")
        elif not self.url or not self.url.startswith(("http://", "https://")):
            raise ValueError(f"{self.type} channels need an http(s) url")
        return self


class AlertingConfig(_M):
    """Engine settings: grouping window and repeat interval for notifications, flap detection
    (``flap_threshold`` state changes within ``flap_window`` marks an alert flapping), size of
    the in-memory transition history."""

    default_rules: bool = True
    group_wait: float = 0.0
    repeat_interval: float = 4 * 3600.0
    flap_window: float = 3600.0
    flap_threshold: int = Field(3, ge=2)
    history_size: int = Field(1000, ge=10, le=100_000)
    channels: list[ChannelConfig] = Field(default_factory=list)

    @field_validator("group_wait", "repeat_interval", "flap_window", mode="before")
    @classmethod
    def _dur(cls, v: object) -> float:
        return parse_duration(v)
