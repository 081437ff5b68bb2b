"""smart collector: recorded ``smartctl --json`` answers (tests/fixtures/smart) printed by a fake
``smartctl`` script, so the real subprocess path (argv, timeout, kill) runs; and the real
smartctl of this machine once."""

from __future__ import annotations

import os
import shutil
import stat
import time
from pathlib import Path

import pytest

from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.command import CommandResult
from autobot_monitor.collectors.smart import SmartCollector, device_label, emit_device
from autobot_monitor.errors import CollectorError
from autobot_monitor.model import find_samples

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "smart"

# answers by device basename; the script exits with smartctl's exit status bit mask
SCRIPT = """#!/bin/sh
for last; do :; done
case "$1" in --scan-open) cat "$FAKE/scan-open.json"; exit 0 ;; esac
dev=$(basename "$last")
[ -f "$FAKE/$dev.sleep" ] && exec sleep 60
[ -f "$FAKE/$dev.json" ] || { echo '{"smartctl": {"exit_status": 2}}'; exit 2; }
cat "$FAKE/$dev.json"
exit $(cat "$FAKE/$dev.rc" 2>/dev/null || echo 0)
"""


@pytest.fixture
def fake(tmp_path: Path) -> Path:
    """A directory holding a fake ``smartctl`` and its answers: sda unsupported (QEMU), sdb
    failing, nvme0 healthy, sdc garbage JSON."""
    d = tmp_path / "fake"
    d.mkdir()
    script = d / "smartctl"
    script.write_text(SCRIPT)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    shutil.copy(FIX / "scan-open.json", d / "scan-open.json")
    for dev, name, rc in (("sda", "unsupported-qemu", 4), ("sdb", "sata-failing", 88),
                          ("nvme0", "nvme-healthy", 0), ("sdd", "sata-healthy", 0)):
        shutil.copy(FIX / f"{name}.json", d / f"{dev}.json")
        (d / f"{dev}.rc").write_text(str(rc))
    (d / "sdc.json").write_text('{"smartctl": {"exit_status": 0}, "device": {"name": "/dev/s')
    return d


@pytest.fixture(autouse=True)
def _env(fake: Path, monkeypatch):
    monkeypatch.setenv("FAKE", str(fake))


def make(fake: Path, **options) -> SmartCollector:
    return SmartCollector(CollectorContext(options={"smart": {
        "smartctl_path": str(fake / "smartctl"), **options}}))


def one(fams, metric, /, **labels):
    found = find_samples(fams, metric, **labels)
    assert len(found) == 1, (metric, labels, found)
    return found[0].value


def of_device(fams, device):
    return {s.name for f in fams for s in f.samples if s.label_dict.get("device") == device}


def attr(fams, device, name, kind="raw"):
    return one(fams, "smartctl_device_attribute", device=device, attribute_name=name,
               attribute_value_type=kind)


def test_healthy_sata(fake):
    fams = make(fake, devices="/dev/sdd;sat").collect()
    assert one(fams, "smartctl_devices") == 1
    assert one(fams, "smartctl_device_smart_status", device="sdd") == 1
    assert one(fams, "smartctl_device_temperature", device="sdd", temperature_type="current") == 34
    assert one(fams, "smartctl_device_power_on_seconds", device="sdd") == 47657 * 3600
    assert one(fams, "smartctl_device_power_cycle_count", device="sdd") == 3
    assert one(fams, "smartctl_device_rotation_rate", device="sdd") == 5400
    assert attr(fams, "sdd", "Reallocated_Sector_Ct") == 0
    assert attr(fams, "sdd", "Reallocated_Sector_Ct", "thresh") == 140
    row = find_samples(fams, "smartctl_device_attribute", device="sdd", attribute_id="5",
                       attribute_value_type="raw")[0].label_dict
    assert row["attribute_flags_short"] == "PO--CK"
    assert row["attribute_flags_long"] == "prefailure,updated_online,event_count,auto_keep"
    info = find_samples(fams, "smartctl_device", device="sdd")[0].label_dict
    assert info["model_name"] == "WDC WD20EFRX-68EUZN0"
    assert info["model_family"].startswith("Western Digital Red")
    assert (info["interface"], info["protocol"]) == ("sat", "ATA")
    assert of_device(fams, "sdd").isdisjoint({"smartctl_device_media_errors",
                                              "smartctl_device_percentage_used"})


def test_scanned_devices_healthy_nvme_failing_sata_unsupported_and_garbage(fake):
    fams = make(fake).collect()
    assert one(fams, "smartctl_devices") == 4
    # NVMe healthy
    assert one(fams, "smartctl_device_smart_status", device="nvme0") == 1
    assert one(fams, "smartctl_device_percentage_used", device="nvme0") == 16
    assert one(fams, "smartctl_device_media_errors", device="nvme0") == 0
    assert one(fams, "smartctl_device_critical_warning", device="nvme0") == 0
    assert one(fams, "smartctl_device_available_spare", device="nvme0") == 100
    assert one(fams, "smartctl_device_temperature", device="nvme0", temperature_type="current") == 29
    assert one(fams, "smartctl_device_power_on_seconds", device="nvme0") == 10423 * 3600
    assert find_samples(fams, "smartctl_device_attribute", device="nvme0") == []
    # failing SATA: status 0, pending and reallocated sectors
    assert one(fams, "smartctl_device_smart_status", device="sdb") == 0
    assert one(fams, "smartctl_device_smartctl_exit_status", device="sdb") == 88
    assert attr(fams, "sdb", "Current_Pending_Sector") == 8
    assert attr(fams, "sdb", "Reallocated_Sector_Ct") == 24
    # unsupported (QEMU): identity and capacity, never a health, temperature or attribute
    assert one(fams, "smartctl_device_smartctl_exit_status", device="sda") == 4
    assert one(fams, "smartctl_device_capacity_bytes", device="sda") == 21474836480
    assert find_samples(fams, "smartctl_device", device="sda", model_name="QEMU HARDDISK")
    assert of_device(fams, "sda") == {"smartctl_device", "smartctl_device_smartctl_exit_status",
                                      "smartctl_device_capacity_bytes"}
    # garbage JSON: the device is skipped
    assert of_device(fams, "sdc") == set()


def test_include_exclude_full_match_on_the_device_label(fake):
    fams = make(fake, device_exclude="sd[a-c]").collect()
    assert one(fams, "smartctl_devices") == 1
    assert {s.label_dict["device"] for s in find_samples(fams, "smartctl_device")} == {"nvme0"}
    fams = make(fake, device_include="sd").collect()  # anchored: matches no device
    assert one(fams, "smartctl_devices") == 0


def test_the_real_virtio_disk_reports_only_its_exit_status():
    import json

    fams: dict = {s.name: s.family() for s in SmartCollector.SPECS}
    emit_device(fams, "vda", json.loads((FIX / "real-vda.json").read_text()))
    got = {f.name for f in fams.values() if f.samples}
    assert got == {"smartctl_device_smartctl_exit_status"}
    assert fams["smartctl_device_smartctl_exit_status"].samples[0].value == 1


def test_a_device_that_cannot_be_opened_or_sleeps_reports_only_its_exit_status():
    fams: dict = {s.name: s.family() for s in SmartCollector.SPECS}
    emit_device(fams, "sda", {"smartctl": {"exit_status": 2}, "power_mode": "STANDBY",
                              "device": {"name": "/dev/sda", "type": "sat", "protocol": "ATA"},
                              "smart_status": {"passed": True}, "temperature": {"current": 30}})
    assert {f.name for f in fams.values() if f.samples} == {"smartctl_device_smartctl_exit_status"}


def test_odd_values_are_skipped_not_invented():
    fams: dict = {s.name: s.family() for s in SmartCollector.SPECS}
    emit_device(fams, "x", {"smartctl": {"exit_status": "bad"}, "smart_status": {"passed": 1},
                            "temperature": {"current": "hot", "drive_trip": True},
                            "power_on_time": {}, "ata_smart_attributes": {"table": [
                                {"id": "five"}, None, {"id": 5, "name": "R", "raw": {}}]},
                            "nvme_smart_health_information_log": [1, 2]})
    assert [f.name for f in fams.values() if f.samples] == []


def test_device_label_like_smartctl_exporter():
    assert device_label("/dev/sda", "sat") == "sda"
    assert device_label("/dev/bus/0", "megaraid,1") == "bus_0_megaraid_1"
    assert device_label("/dev/disk/by-id/ata-X", "auto") == "ata-X"


def test_a_garbage_scan_is_not_zero_devices_but_a_failed_collector(fake):
    """A smartctl answering no JSON (too old for --json, a wrapper printing text) fails the
    collector (its success 0): nothing is known, not "no disks"."""
    (fake / "scan-open.json").write_text("smartctl: unrecognized option '--json'\n")
    with pytest.raises(CollectorError, match="no JSON answer"):
        make(fake).collect()


def test_smartctl_missing_emits_nothing(tmp_path):
    c = SmartCollector(CollectorContext(options={"smart": {
        "smartctl_path": str(tmp_path / "nowhere" / "smartctl")}}))
    assert c.collect() == []


def test_a_hanging_device_is_killed_and_skipped(fake):
    (fake / "sdd.sleep").write_text("")
    fams = make(fake, devices=["/dev/sdd", "/dev/nvme0"], timeout=1.0).collect()
    assert one(fams, "smartctl_devices") == 2
    assert of_device(fams, "sdd") == set()
    assert one(fams, "smartctl_device_smart_status", device="nvme0") == 1
    _wait_no_sleeper(fake)


def test_a_hanging_scan_fails_the_cycle(fake):
    (fake / "smartctl").write_text("#!/bin/sh\nexec sleep 60\n")
    with pytest.raises(CollectorError, match="timeout"):
        make(fake, timeout=0.5).collect()


def test_injected_runner_gets_the_exporter_argv(fake):
    calls = []

    def run(argv, timeout):
        calls.append(list(argv))
        return CommandResult("ok", 0, (FIX / "nvme-healthy.json").read_text())

    c = SmartCollector(CollectorContext(options={"smart": {"devices": ["/dev/nvme0;nvme"]}}),
                       run=run)
    assert one(c.collect(), "smartctl_device_smart_status", device="nvme0") == 1
    assert calls == [["smartctl", "--json", "--info", "--health", "--attributes",
                      "--tolerance=verypermissive", "--nocheck=standby", "--format=brief",
                      "--device=nvme", "/dev/nvme0"]]


@pytest.mark.skipif(shutil.which("smartctl") is None, reason="smartctl not installed")
def test_the_real_smartctl_of_this_machine():
    import json
    import subprocess

    scan = subprocess.run(["smartctl", "--scan-open", "--json"], capture_output=True, text=True,
                          timeout=60, check=False)
    found = json.loads(scan.stdout).get("devices", [])
    fams = SmartCollector(CollectorContext(options={"smart": {"timeout": 30}})).collect()
    assert one(fams, "smartctl_devices") == len(found)
    if not found:  # this build machine: a virtio disk smartctl cannot open -> nothing else
        assert [f.name for f in fams] == ["smartctl_devices"]


def _wait_no_sleeper(fake: Path) -> None:
    """The killed script's ``sleep 60`` is gone (its process group was killed)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not any(_is_our_sleeper(p, fake) for p in os.listdir("/proc") if p.isdigit()):
            return
        time.sleep(0.02)
    raise AssertionError("a hung smartctl was left running")


def _is_our_sleeper(pid: str, fake: Path) -> bool:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes()
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return cmd.startswith(b"sleep\x0060") and f"FAKE={fake}".encode() in env


def test_every_emitted_family_is_declared(fake):
    specs = {s.name: s for s in SmartCollector.SPECS}
    fams = make(fake, devices=["/dev/sda", "/dev/sdb", "/dev/nvme0", "/dev/sdd"]).collect()
    assert {f.name for f in fams} == set(specs)  # the recordings exercise every family
    for f in fams:
        spec = specs[f.name]
        assert (f.type, f.help, f.unit) == (spec.type, spec.help, spec.unit)
        assert all({k for k, _ in s.labels} == set(spec.labels) for s in f.samples)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_exposition_passes_promtool_but_for_the_exporters_own_count_name(fake):
    import subprocess

    from autobot_monitor.exposition import render

    fams = make(fake, devices=["/dev/sda", "/dev/sdb", "/dev/nvme0", "/dev/sdd"]).collect()
    r = subprocess.run(["promtool", "check", "metrics"], input=render(fams), capture_output=True,
                       timeout=60, check=False)
    lines = [ln for ln in (r.stdout + r.stderr).decode().splitlines() if ln.strip()]
    # smartctl_exporter's name, kept as it is (its own output draws the same line)
    assert lines == ['smartctl_device_power_cycle_count non-histogram and non-summary metrics '
                     'should not have "_count" suffix']


def test_every_device_answering_garbage_fails_the_collector(fake):
    """A scan that works but device answers that are all no JSON: the collector fails (its
    success 0), rather than reporting a host whose disks have nothing to say."""
    with pytest.raises(CollectorError, match="no device of 1"):
        make(fake, devices=["/dev/sdc"]).collect()  # sdc answers garbage JSON
