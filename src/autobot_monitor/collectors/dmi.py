"""Firmware-reported hardware identity from ``/sys/class/dmi/id`` (node_exporter's dmi)."""

from __future__ import annotations

import os

from ..model import MetricFamily, MetricSpec
from .base import Collector, CollectorContext

MAX_VALUE_BYTES = 4096  # sysfs attributes are one page at most
# label -> file under /sys/class/dmi/id (node_exporter's labels; sys_vendor is "system_vendor")
FIELDS = (
    ("bios_date", "bios_date"), ("bios_release", "bios_release"), ("bios_vendor", "bios_vendor"),
    ("bios_version", "bios_version"), ("board_asset_tag", "board_asset_tag"),
    ("board_name", "board_name"), ("board_serial", "board_serial"),
    ("board_vendor", "board_vendor"), ("board_version", "board_version"),
    ("chassis_asset_tag", "chassis_asset_tag"), ("chassis_serial", "chassis_serial"),
    ("chassis_vendor", "chassis_vendor"), ("chassis_version", "chassis_version"),
    ("product_family", "product_family"), ("product_name", "product_name"),
    ("product_serial", "product_serial"), ("product_sku", "product_sku"),
    ("product_uuid", "product_uuid"), ("product_version", "product_version"),
    ("system_vendor", "sys_vendor"),
)


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read(MAX_VALUE_BYTES).decode("utf-8", errors="replace").strip()
    except OSError:
        return None


class DmiCollector(Collector):
    """``node_dmi_info{bios_date,...,system_vendor}`` = 1, each label the stripped text of its
    file in ``<sysfs>/class/dmi/id`` (:data:`FIELDS`; invalid UTF-8 replaced by U+FFFD, as
    node_exporter). A file that is missing or unreadable (serials are root-only) gives the
    label "" — which Prometheus treats as no label, as node_exporter leaves it out. Read once:
    the values change only with a reboot. No sample on machines without DMI (VMs without
    SMBIOS, ARM boards).
    """

    name = "dmi"
    SPECS = (
        MetricSpec("node_dmi_info", "info",
                   "A metric with a constant '1' value labeled by bios_date, bios_release, "
                   "bios_vendor, bios_version, board_asset_tag, board_name, board_serial, "
                   "board_vendor, board_version, chassis_asset_tag, chassis_serial, "
                   "chassis_vendor, chassis_version, product_family, product_name, "
                   "product_serial, product_sku, product_uuid, product_version, system_vendor "
                   "if provided by DMI.", "", tuple(label for label, _ in FIELDS)),
    )

    def __init__(self, ctx: CollectorContext):
        super().__init__(ctx)
        self._labels: dict[str, str] | None = None
        self._read = False

    def collect(self) -> list[MetricFamily]:
        if not self._read:
            base = self.ctx.sys("class", "dmi", "id")
            values = {label: _read(os.path.join(base, f)) for label, f in FIELDS}
            if any(v is not None for v in values.values()):
                self._labels = {k: v or "" for k, v in values.items()}
            self._read = True
        if self._labels is None:
            return []
        fam = self.SPECS[0].family()
        fam.add(1, self._labels)
        return [fam]
