"""ARP table size per network device from ``/proc/net/arp``, exported like node_exporter 1.5's
``arp`` collector."""

from __future__ import annotations

from ..model import MetricFamily, MetricSpec
from .base import Collector, CollectorContext
from .procutil import optional_regex


class ArpCollector(Collector):
    """Emits ``node_arp_entries`` (gauge, label ``device``): the number of lines of
    ``/proc/net/arp`` per device (the last column), header excluded, whatever the entry's state
    (incomplete entries count, as in node_exporter 1.5). Options ``device_include`` /
    ``device_exclude``: regular expressions (searched) a device must / must not match, like
    ``--collector.arp.device-include`` / ``-exclude``. A missing file emits nothing; a line with
    fewer than 6 columns is skipped. Never raises.
    """

    name = "arp"
    isolate = False
    SPECS = (MetricSpec("node_arp_entries", "gauge", "ARP entries by device",
                        labels=("device",)),)

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        self._include = optional_regex(self.options.get("device_include"), "arp device_include")
        self._exclude = optional_regex(self.options.get("device_exclude"), "arp device_exclude")

    def collect(self) -> list[MetricFamily]:
        text = self.files.read_bounded(self.ctx.proc("net", "arp"), 16 << 20)
        if text is None:
            return []
        counts: dict[str, int] = {}
        for line in text.splitlines():
            cols = line.split()
            if len(cols) < 6 or cols[0] == "IP":
                continue
            counts[cols[-1]] = counts.get(cols[-1], 0) + 1
        fam = self.SPECS[0].family()
        for device in sorted(counts):
            if self._exclude is not None and self._exclude.search(device):
                continue
            if self._include is not None and not self._include.search(device):
                continue
            fam.add(counts[device], {"device": device})
        return [fam] if fam.samples else []

