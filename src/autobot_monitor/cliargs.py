"""Argument types for the command line: flags are validated like config keys.

Each function is an ``argparse`` ``type=``: it returns the parsed value or raises
``argparse.ArgumentTypeError`` with a message naming the accepted range, so a bad flag ends as
``autobot-monitor <cmd>: error: argument --interval: ...`` on stderr with exit code 2, before any
socket or thread is started.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def seconds(text: str) -> float:
    """A duration in seconds: a finite number > 0 (``"0"``, ``"-3"``, ``"nan"``, ``"inf"`` refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds (a number > 0), got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def port(text: str) -> int:
    """A TCP port, an integer 1-65535 (0 is refused: it would pick a random port)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port 1-65535, got {text!r}") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"must be a port 1-65535, got {text!r}")
    return value


def count(minimum: int) -> Callable[[str], int]:
    """An integer >= ``minimum`` (a type factory: ``type=count(2)``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return value

    return parse


def listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` with PORT in 1-65535 (IPv6 hosts in brackets; an empty host is 127.0.0.1)."""
    host, sep, port_ = text.rpartition(":")
    if not sep or not port_.isdigit() or not 0 < int(port_) < 65536:
        raise argparse.ArgumentTypeError(
            f"expected HOST:PORT with PORT in 1-65535, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port_)


def regex(text: str) -> str:
    """An RE2 regular expression (node_exporter's filter flags), returned as given; one RE2
    refuses (bad syntax, backreferences, too long) is an error naming why."""
    from .regex import RegexError, check_regex

    try:
        return check_regex(text, dot_nl=False)
    except RegexError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
