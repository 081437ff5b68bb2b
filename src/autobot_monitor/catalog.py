"""Every metric family the product can emit, grouped by source, from the declared specs."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from .agent.metrics import MESH_SPECS
from .alerts.metrics import ALERT_SPECS, NOTIFY_SPEC
from .checks.metrics import ALL_SPECS
from .clock import CLOCK_SPECS
from .collectors import REGISTRY, collector_class
from .collectors.metrics import SELF_SPECS
from .hub.metrics import DATA_DIR_SPECS, HUB_SPECS, SCHEDULE_SPECS, SCRAPE_SPECS
from .model import MetricSpec
from .optimizer.metrics import OPTIMIZER_SPECS
from .recorders import recorder_metric_names
from .store.metrics import MIRROR_SPECS, STORE_SPECS


def all_specs() -> list[tuple[str, tuple[MetricSpec, ...]]]:
    """``[(source name, specs)]``: each collector, the collector runner, the service checks, the
    hub's scrape, threshold and self metrics, the store, alerts and the optimizer."""
    out = [(f"collector `{name}`", collector_class(name).SPECS) for name in REGISTRY]
    out += [("agent: latency mesh", MESH_SPECS), ("collector runner (self)", SELF_SPECS),
            ("service checks", ALL_SPECS), ("hub: scrapes", SCRAPE_SPECS), ("alerts", (*ALERT_SPECS, NOTIFY_SPEC)),
            ("hub: self", (*HUB_SPECS, *SCHEDULE_SPECS, *CLOCK_SPECS, *DATA_DIR_SPECS)),
            ("store (self)", (*STORE_SPECS, *MIRROR_SPECS)), ("optimizer", OPTIMIZER_SPECS)]
    return out


def is_known_metric(name: str) -> bool:
    """True if some declared spec emits ``name`` (or a collector's dynamic prefix covers it)."""
    for _, specs in all_specs():
        if any(s.name == name for s in specs):
            return True
    for cname in REGISTRY:
        prefixes = getattr(collector_class(cname), "DYNAMIC_PREFIXES", ())
        if prefixes and name.startswith(tuple(prefixes)):
            return True
    return name in _recorder_names()  # what instrumented applications emit


@functools.cache
def _recorder_names() -> frozenset[str]:
    return frozenset(recorder_metric_names("autobot"))


PRODUCT_PREFIXES = ("node_", "autobot_")


def unknown_metric_references(names: Iterable[str],
                              prefixes: tuple[str, ...] = PRODUCT_PREFIXES) -> list[str]:
    """The referenced metric ``names`` (sorted, once each) under ``prefixes`` that nothing emits:
    no declared spec, no collector's dynamic prefix, no application recorder of
    :mod:`autobot_monitor.recorders` (histograms with their ``_bucket``/``_count``/``_sum``).
    Other names belong to scraped targets and cannot be judged before a scrape: never reported."""
    return sorted({n for n in names if n.startswith(prefixes) and not is_known_metric(n)})
