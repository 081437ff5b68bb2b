"""cpufreq and dmi collectors on recorded sysfs trees (this machine has neither: a VM)."""

from __future__ import annotations

from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.cpufreq import CpufreqCollector, parse_cpu_list
from autobot_monitor.collectors.dmi import DmiCollector

CPU = "devices/system/cpu"


def _cpu(host, n, *, package=0, core=None, freqs=None, throttle=None):
    host.sys(f"{CPU}/cpu{n}/topology/physical_package_id", f"{package}\n")
    host.sys(f"{CPU}/cpu{n}/topology/core_id", f"{n if core is None else core}\n")
    for f, khz in (freqs or {}).items():
        host.sys(f"{CPU}/cpu{n}/cpufreq/{f}", f"{khz}\n")
    for f, count in (throttle or {}).items():
        host.sys(f"{CPU}/cpu{n}/thermal_throttle/{f}", f"{count}\n")


def test_frequencies_in_hertz_throttles_once_per_core_and_package(host):
    freqs = {"cpuinfo_cur_freq": 2400000, "cpuinfo_min_freq": 800000, "cpuinfo_max_freq": 3600000,
             "scaling_cur_freq": 2500000, "scaling_min_freq": 800000, "scaling_max_freq": "junk"}
    _cpu(host, 0, freqs=freqs, throttle={"core_throttle_count": 3, "package_throttle_count": 9})
    # cpu2 is cpu0's hyperthread sibling (same core): its counts are not read twice
    _cpu(host, 2, core=0, throttle={"core_throttle_count": 99, "package_throttle_count": 99})
    _cpu(host, 1, package=1, throttle={"core_throttle_count": 0})
    host.sys(f"{CPU}/cpu3/cpufreq/scaling_cur_freq", "1000\n")  # no topology: frequencies only
    host.sys(f"{CPU}/cpufreq/policy0/scaling_cur_freq", "1\n")  # not a cpu<N> directory
    host.sys(f"{CPU}/isolated", "1-2,5\n")
    fams = CpufreqCollector(host.ctx()).collect()
    v = host.value
    assert v(fams, "node_cpu_frequency_hertz", cpu="0") == 2.4e9
    assert v(fams, "node_cpu_frequency_min_hertz", cpu="0") == 8e8
    assert v(fams, "node_cpu_frequency_max_hertz", cpu="0") == 3.6e9
    assert v(fams, "node_cpu_scaling_frequency_hertz", cpu="0") == 2.5e9
    assert v(fams, "node_cpu_scaling_frequency_max_hertz", cpu="0") is None  # unreadable number
    assert v(fams, "node_cpu_scaling_frequency_hertz", cpu="3") == 1e6
    assert host.values(fams, "node_cpu_core_throttles_total") == {
        (("core", "0"), ("package", "0")): 3, (("core", "1"), ("package", "1")): 0}
    assert host.values(fams, "node_cpu_package_throttles_total") == {(("package", "0"),): 9}
    assert set(host.values(fams, "node_cpu_isolated")) == {(("cpu", c),) for c in ("1", "2", "5")}


def test_cpu_list_format():
    assert parse_cpu_list("0-2,5\n") == [0, 1, 2, 5]
    assert parse_cpu_list("\n") == [] and parse_cpu_list(None) == []
    assert parse_cpu_list("3-1") == [] and parse_cpu_list("a-b") == []
    assert parse_cpu_list("0-99999999", limit=4) == [0, 1, 2, 3]


def test_no_cpufreq_emits_nothing(host):
    assert CpufreqCollector(host.ctx()).collect() == []


def test_real_machine_cpufreq_runs():
    fams = CpufreqCollector(CollectorContext()).collect()
    assert all(s.value >= 0 for f in fams for s in f.samples)


def test_dmi_info_labels_and_unreadable_files(host):
    base = "class/dmi/id"
    host.sys(f"{base}/sys_vendor", "QEMU\n")
    host.sys(f"{base}/product_name", "Standard PC (Q35 + ICH9, 2009)\n")
    host.sys(f"{base}/bios_version", "1.16.2-debian\n")
    (host.sysfs / base / "board_serial").mkdir()  # unreadable as a file
    (host.sysfs / base / "chassis_vendor").write_bytes(b"Bad \xff vendor\n")
    c = DmiCollector(host.ctx())
    [fam] = c.collect()
    labels = fam.samples[0].label_dict
    assert labels["system_vendor"] == "QEMU"
    assert labels["product_name"] == "Standard PC (Q35 + ICH9, 2009)"
    assert labels["chassis_vendor"] == "Bad \ufffd vendor"
    assert labels["board_serial"] == "" and labels["bios_date"] == ""
    assert fam.type == "info" and fam.samples[0].value == 1
    host.sys(f"{base}/sys_vendor", "changed\n")  # read once: fixed until reboot
    assert c.collect()[0].samples[0].label_dict["system_vendor"] == "QEMU"


def test_no_dmi_emits_nothing(host):
    assert DmiCollector(host.ctx()).collect() == []
