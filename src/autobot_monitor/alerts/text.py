"""Alert text for people: values (:func:`format_value`) and ``{{ name }}`` templates
(:func:`render_template`) of rule summaries and descriptions."""

from __future__ import annotations

import re
from typing import Any

TEMPLATE_RE = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")
"""A ``{{ name }}`` placeholder; group 1 is the name (``value``, ``host``, ``labels.host``)."""


def format_value(v: float | None, fn: str = "value") -> str:
    """A value for people: durations for ``time_to_threshold``, 3 significant digits otherwise."""
    if v is None:
        return "n/m"
    if fn == "time_to_threshold":
        s = int(v)
        d, s = divmod(s, 86400)
        h, s = divmod(s, 3600)
        m, s = divmod(s, 60)
        parts = [f"{d}d" if d else "", f"{h}h" if h else "", f"{m}m" if m else "",
                 f"{s}s" if not (d or h) and s else ""]
        return " ".join(p for p in parts if p) or "0s"
    return f"{v:.3g}"


def render_template(text: str, ctx: dict[str, Any]) -> str:
    """Replace ``{{ name }}`` by ``ctx[name]`` (``labels.x`` or plain ``x`` for a label);
    unknown names become ``?``. Plain text substitution: the result is never markup."""
    labels = ctx.get("labels", {})

    def sub(m: re.Match[str]) -> str:
        key: str = m.group(1)
        if key.startswith("labels."):
            return str(labels.get(key[7:], "?"))
        if key in ctx and key != "labels":
            return str(ctx[key])
        return str(labels.get(key, "?"))

    return TEMPLATE_RE.sub(sub, text)
