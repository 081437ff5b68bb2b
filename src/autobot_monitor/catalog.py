"""Every metric family the product can emit, grouped by source, from the declared specs."""

from __future__ import annotations

from .collectors import REGISTRY, collector_class
from .model import MetricSpec


def all_specs() -> list[tuple[str, tuple[MetricSpec, ...]]]:
    """``[(source name, specs)]``: each collector, the collector runner, the service checks, the
    hub's scrape, threshold and self metrics."""
    from .checks import ALL_SPECS
    from .collectors.runner import SELF_SPECS
    from .hub.scrape import SCRAPE_SPECS
    from .hub.service import HUB_SPECS
    from .hub.thresholds import ACTIVE, ALERTS_TOTAL

    out = [(f"collector `{name}`", collector_class(name).SPECS) for name in REGISTRY]
    out += [("collector runner (self)", SELF_SPECS), ("service checks", tuple(ALL_SPECS)),
            ("hub: scrapes", SCRAPE_SPECS), ("hub: alerts", (ALERTS_TOTAL, ACTIVE)),
            ("hub: self", HUB_SPECS)]
    return out
