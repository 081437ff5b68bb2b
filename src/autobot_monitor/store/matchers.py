"""The store's selectors are :mod:`autobot_monitor.matchers` (re-exported here for the store's
modules): PromQL ``=``, ``!=``, ``=~``, ``!~``, RE2, fully anchored."""

from __future__ import annotations

from ..matchers import Matcher, MatcherError, match_all, parse_matcher, parse_matchers, to_matchers

__all__ = ["Matcher", "MatcherError", "match_all", "parse_matcher", "parse_matchers", "to_matchers"]
