"""Every metric family the product can emit, grouped by source, from the declared specs."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from .collectors import REGISTRY, collector_class
from .model import MetricSpec


def all_specs() -> list[tuple[str, tuple[MetricSpec, ...]]]:
    """``[(source name, specs)]``: each collector, the collector runner, the service checks, the
    hub's scrape, threshold and self metrics."""
    from .agent.mesh import MESH_SPECS
    from .alerts.notify import NOTIFY_SPEC
    from .alerts.service import SPECS as ALERT_SPECS
    from .checks import ALL_SPECS
    from .clock import CLOCK_SPECS
    from .collectors.runner import SELF_SPECS
    from .hub.datadir import DATA_DIR_SPECS
    from .hub.schedule import SCHEDULE_SPECS
    from .hub.scrape import SCRAPE_SPECS
    from .hub.service import HUB_SPECS
    from .store.redis_mirror import MIRROR_SPECS
    from .store.stats import STORE_SPECS

    out = [(f"collector `{name}`", collector_class(name).SPECS) for name in REGISTRY]
    out += [("agent: latency mesh", MESH_SPECS), ("collector runner (self)", SELF_SPECS), ("service checks", tuple(ALL_SPECS)),
            ("hub: scrapes", SCRAPE_SPECS), ("alerts", (*ALERT_SPECS, NOTIFY_SPEC)),
            ("hub: self", (*HUB_SPECS, *SCHEDULE_SPECS, *CLOCK_SPECS, *DATA_DIR_SPECS)), ("store (self)", (*STORE_SPECS, *MIRROR_SPECS))]
    from .optimizer.service import SPECS as OPTIMIZER_SPECS

    out.append(("optimizer", OPTIMIZER_SPECS))  # issue 8
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
    return name in _recorder_names()  # what instrumented applications emit (issue 12)


@functools.cache
def _recorder_names() -> frozenset[str]:
    from .recorders import recorder_metric_names

    return frozenset(recorder_metric_names("autobot"))


PRODUCT_PREFIXES = ("node_", "autobot_")


def unknown_metric_references(names: Iterable[str],
                              prefixes: tuple[str, ...] = PRODUCT_PREFIXES) -> list[str]:
    """The referenced metric ``names`` (sorted, once each) under ``prefixes`` that nothing emits:
    no declared spec, no collector's dynamic prefix, no application recorder of
    :mod:`autobot_monitor.recorders` (histograms with their ``_bucket``/``_count``/``_sum``).
    Other names belong to scraped targets and cannot be judged before a scrape: never reported."""
    return sorted({n for n in names if n.startswith(prefixes) and not is_known_metric(n)})
