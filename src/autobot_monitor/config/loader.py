"""YAML loading with line numbers.

:func:`load_config` parses the file with PyYAML's composer (which keeps each node's line), builds
plain Python data, validates it with :class:`~.models.MonitorConfig`, and turns every pydantic
error into ``FILE:LINE: key.path: what is wrong`` by walking the node tree along the error's
location. No file at all means defaults.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import yaml
from pydantic import ValidationError

from ..alerts.config import legacy_rule_matchers
from ..errors import ConfigError
from .models import MonitorConfig

DEFAULT_CONFIG_NAMES = ("monitoring_config.yaml",)
log = logging.getLogger(__name__)
_warned: set[str] = set()  # deprecation messages already logged (once per process, not per reload)


def _node_line(root: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[int, str]:
    """Line (1-based) of the deepest node reachable along ``loc`` and the dotted key path."""
    node = root
    line = node.start_mark.line + 1 if node is not None else 1
    parts: list[str] = []
    for key in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            parts.append(key)
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == key:
                    line = k.start_mark.line + 1
                    node = v
                    break
            else:
                node = None
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            parts.append(f"[{key}]")
            if 0 <= key < len(node.value):
                node = node.value[key]
                line = node.start_mark.line + 1
            else:
                node = None
        else:
            # discriminator tags ("http") or a path into a missing node: keep the name only
            if isinstance(key, str) and not parts[-1:] == [key]:
                if isinstance(node, yaml.MappingNode) or node is None:
                    parts.append(key)
    path = ".".join(parts).replace(".[", "[")
    return line, path


def _format_errors(path: str, root: yaml.Node | None, err: ValidationError) -> list[str]:
    problems = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        # pydantic puts the tag of a discriminated union in the path: drop it
        loc = tuple(p for p in loc if p not in ("http", "tcp", "redis") or isinstance(p, int))
        line, key = _node_line(root, loc)
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif e["type"] == "missing":
            msg = "required key is missing"
        problems.append(f"{path}:{line}: {key or '(top level)'}: {msg}")
    return problems


MAX_EXPANDED_NODES = 100_000  # a config expanded through its aliases; past it: an alias bomb


def _alias_problem(root: yaml.Node | None, path: str) -> str | None:
    """``FILE:LINE: (syntax): ...`` when an alias refers to a node that contains it (a document
    without end) or the document, its aliases expanded, has more than
    :data:`MAX_EXPANDED_NODES` nodes (a "billion laughs" bomb); None otherwise. Linear in the
    composed (unexpanded) node graph."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: yaml.Node) -> int:
        if id(node) in on_path:
            raise _Cycle(node)
        if id(node) in sizes:
            return sizes[id(node)]
        on_path.add(id(node))
        kids: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            kids = [n for kv in node.value for n in kv]
        elif isinstance(node, yaml.SequenceNode):
            kids = list(node.value)
        n = 1 + sum(size(k) for k in kids)
        on_path.discard(id(node))
        sizes[id(node)] = n = min(n, MAX_EXPANDED_NODES + 1)
        return n

    if root is None:
        return None
    try:
        if size(root) > MAX_EXPANDED_NODES:
            return (f"{path}:1: (syntax): the document expands to more than "
                    f"{MAX_EXPANDED_NODES:,} values through its aliases")
    except _Cycle as c:
        return f"{path}:{c.node.start_mark.line + 1}: (syntax): an alias refers to a value containing itself"
    except RecursionError:
        return f"{path}:1: (syntax): values nest too deeply"
    return None


class _Cycle(Exception):
    def __init__(self, node: yaml.Node):
        self.node = node


def _duplicate_keys(node: yaml.Node | None, path: str, prefix: str = "") -> list[str]:
    """``FILE:LINE: key: duplicate key`` for every mapping key given twice (YAML would silently
    keep the last one)."""
    out: list[str] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            name = k.value if isinstance(k, yaml.ScalarNode) else "?"
            key = f"{prefix}.{name}" if prefix else name
            if name in seen:
                out.append(f"{path}:{k.start_mark.line + 1}: {key}: duplicate key "
                           "(YAML would keep only the last one)")
            seen.add(name)
            out += _duplicate_keys(v, path, key)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out += _duplicate_keys(v, path, f"{prefix}[{i}]")
    return out


def parse_config(text: str, path: str = "<string>") -> MonitorConfig:
    """Validate YAML ``text``. Raises :class:`ConfigError` with one line per problem, in line
    order."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        problem = _alias_problem(root, path)
        if problem:
            raise ConfigError([problem])
        data = yaml.safe_load(text) if root is not None else {}
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        raise ConfigError([f"{path}:{line}: (syntax): {e.problem or e}"]) from None
    except yaml.YAMLError as e:
        raise ConfigError([f"{path}:1: (syntax): {e}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}:1: (top level): must be a mapping of keys to values"])
    dups = _duplicate_keys(root, path)
    try:
        cfg = MonitorConfig.model_validate(data)
    except ValidationError as e:
        problems = dups + _format_errors(path, root, e)
        raise ConfigError(sorted(problems, key=lambda p: int(p[len(path) + 1:].split(":", 1)[0]))) from None
    if dups:
        raise ConfigError(dups)
    _warn_deprecated(path, root, data)
    return cfg


def _warn_deprecated(path: str, root: yaml.Node | None, data: dict[str, Any]) -> None:
    """Log ``FILE:LINE: key: message`` once per process for each deprecated spelling."""
    for loc, msg in legacy_rule_matchers(data):
        line, key = _node_line(root, loc)
        text = f"{path}:{line}: {key}: {msg}"
        if text not in _warned:
            _warned.add(text)
            log.warning("%s", text)


def load_config(path: str | None) -> MonitorConfig:
    """Load ``path``; ``None`` means defaults (the local host only).

    Raises :class:`ConfigError` (``FILE:LINE: key.path: problem``) for an unreadable file, bad YAML,
    an unknown key, a wrong type or a bad value.
    """
    if path is None:
        return MonitorConfig()
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError([f"{path}:0: (file): cannot read: {e.strerror}"]) from None
    except UnicodeDecodeError as e:
        line = 1 + open(path, "rb").read()[: e.start].count(b"\n")  # noqa: SIM115 - tiny file
        raise ConfigError([f"{path}:{line}: (file): not UTF-8 text ({e.reason} at byte {e.start})"]) from None
    return parse_config(text, path)


def find_default_config(cwd: str | None = None) -> str | None:
    """``monitoring_config.yaml`` in ``cwd`` if present, else ``None``."""
    for name in DEFAULT_CONFIG_NAMES:
        p = os.path.join(cwd or os.getcwd(), name)
        if os.path.isfile(p):
            return p
    return None
