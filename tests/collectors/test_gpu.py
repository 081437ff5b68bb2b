"""GPU collector against recorded NVML sessions (NvmlReplay) and the real, GPU-less machine."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

import pynvml
import pytest

from autobot_monitor.clock import FakeClock
from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.gpu import THROTTLE_REASONS, GpuCollector
from autobot_monitor.collectors.nvml_replay import NvmlReplay, error_code, record
from autobot_monitor.model import find_samples

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nvml"
REPO = Path(__file__).resolve().parents[2]
H200 = {"gpu": "0", "uuid": "GPU-5c9f3a6e-0d41-4b8e-9a7c-2f1e6b3d8a90"}
RTX = {"gpu": "1", "uuid": "GPU-1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b"}
LOG = "autobot_monitor.collectors.gpu"


def replay(name: str) -> NvmlReplay:
    return NvmlReplay.load(str(FIXTURES / f"{name}.json"))


def make(nvml, clock: FakeClock | None = None, **options) -> GpuCollector:
    return GpuCollector(CollectorContext(nvml=nvml, clock=clock or FakeClock(),
                                         options={"gpu": options} if options else {}))


def one(fams, name, **labels) -> float:
    found = find_samples(fams, name, **labels)
    assert len(found) == 1, (name, labels, found)
    return found[0].value


def names(fams, **labels) -> set[str]:
    return {f.name for f in fams for s in f.samples if all((k, v) in s.labels for k, v in labels.items())}


# -- values -----------------------------------------------------------------------------------


def test_two_gpus_values_and_units():
    fams = make(replay("two_gpus")).collect()
    assert one(fams, "autobot_gpu_available") == 1
    assert one(fams, "autobot_gpu_utilization_percent", **H200) == 87
    assert one(fams, "autobot_gpu_memory_utilization_percent", **H200) == 41
    assert one(fams, "autobot_gpu_memory_used_bytes", **H200) == 86330310656
    assert one(fams, "autobot_gpu_memory_total_bytes", **H200) == 150754820096
    assert one(fams, "autobot_gpu_temperature_celsius", **H200) == 54
    assert one(fams, "autobot_gpu_power_watts", **H200) == 512.345  # from milliwatts
    assert one(fams, "autobot_gpu_power_limit_watts", **H200) == 700
    assert one(fams, "autobot_gpu_clock_sm_hertz", **H200) == 1980e6  # from MHz
    assert one(fams, "autobot_gpu_fan_speed_percent", **RTX) == 30
    assert one(fams, "autobot_gpu_power_watts", **RTX) == 12.873


def test_info_family_carries_name_and_driver():
    fams = make(replay("two_gpus")).collect()
    info = {dict(s.labels)["gpu"]: dict(s.labels) for s in find_samples(fams, "autobot_gpu_info")}
    assert info["0"] == {**H200, "name": "NVIDIA H200", "driver_version": "550.127.05"}
    assert info["1"]["name"] == "NVIDIA GeForce RTX 4070"
    assert next(f for f in fams if f.name == "autobot_gpu_info").type == "info"


def test_value_families_carry_only_gpu_and_uuid():
    fams = make(replay("two_gpus")).collect()
    for f in fams:
        if f.name in ("autobot_gpu_available", "autobot_gpu_info", "autobot_gpu_throttle_reasons"):
            continue
        for s in f.samples:
            assert set(dict(s.labels)) == {"gpu", "uuid"}, f.name


def test_throttle_reasons_one_sample_per_known_bit():
    fams = make(replay("two_gpus")).collect()
    h200 = {dict(s.labels)["reason"]: s.value for s in find_samples(fams, "autobot_gpu_throttle_reasons", **H200)}
    assert len(h200) == len(THROTTLE_REASONS)
    assert h200["sw_power_cap"] == 1 and sum(h200.values()) == 1
    assert one(fams, "autobot_gpu_throttle_reasons", reason="gpu_idle", **RTX) == 1


def test_throttle_reason_bits_match_pynvml_constants():
    for reason, bit in THROTTLE_REASONS:
        camel = "".join(p.capitalize() for p in reason.split("_"))
        assert getattr(pynvml, f"nvmlClocksEventReason{camel}") == bit, reason


def test_old_driver_falls_back_to_throttle_reasons_function():
    nvml = replay("two_gpus")
    for i in (0, 1):
        nvml.set_answer(i, "nvmlDeviceGetCurrentClocksEventReasons", {"error": "FunctionNotFound"})
    col = make(nvml)
    assert one(col.collect(), "autobot_gpu_throttle_reasons", reason="sw_power_cap", **H200) == 1
    col.collect()
    assert nvml.calls["nvmlDeviceGetCurrentClocksEventReasons"] == 1  # not retried every cycle
    assert nvml.calls["nvmlDeviceGetCurrentClocksThrottleReasons"] == 4


# -- absent, never zero -----------------------------------------------------------------------


def test_not_supported_fields_are_absent_others_present():
    fams = make(replay("fan_not_supported")).collect()
    present = names(fams, gpu="0")
    assert "autobot_gpu_fan_speed_percent" not in present
    assert "autobot_gpu_utilization_percent" not in present
    assert "autobot_gpu_memory_utilization_percent" not in present
    assert {"autobot_gpu_memory_used_bytes", "autobot_gpu_temperature_celsius", "autobot_gpu_power_watts",
            "autobot_gpu_clock_sm_hertz", "autobot_gpu_throttle_reasons", "autobot_gpu_info"} <= present
    assert one(fams, "autobot_gpu_available") == 1


def test_fanless_h200_has_no_fan_sample():
    fams = make(replay("two_gpus")).collect()
    assert find_samples(fams, "autobot_gpu_fan_speed_percent", gpu="0") == []


@pytest.mark.parametrize("error", ["NoPermission", "Unknown", "InsufficientSize", 999])
def test_any_field_error_makes_only_that_field_absent(error):
    nvml = replay("two_gpus")
    nvml.set_answer(0, "nvmlDeviceGetPowerUsage", {"error": error})
    fams = make(nvml).collect()
    assert find_samples(fams, "autobot_gpu_power_watts", gpu="0") == []
    assert one(fams, "autobot_gpu_power_limit_watts", **H200) == 700
    assert one(fams, "autobot_gpu_power_watts", **RTX) == 12.873


@pytest.mark.parametrize("odd", [None, "n/a", [1, 2]])
def test_odd_values_are_absent_not_exceptions(odd):
    nvml = replay("two_gpus")
    nvml.set_answer(1, "nvmlDeviceGetTemperature", {"NVML_TEMPERATURE_GPU": odd})
    fams = make(nvml).collect()
    assert find_samples(fams, "autobot_gpu_temperature_celsius", gpu="1") == []
    assert one(fams, "autobot_gpu_temperature_celsius", **H200) == 54


def test_uuid_error_gives_empty_uuid_label_and_is_retried():
    nvml = replay("two_gpus")
    nvml.set_answer(1, "nvmlDeviceGetUUID", {"error": "NotSupported"})
    col = make(nvml)
    assert one(col.collect(), "autobot_gpu_temperature_celsius", gpu="1") == 41
    assert find_samples(col.collect(), "autobot_gpu_info", gpu="1", uuid="")
    nvml.set_answer(1, "nvmlDeviceGetUUID", "GPU-late")
    assert find_samples(col.collect(), "autobot_gpu_info", gpu="1", uuid="GPU-late")


# -- lifecycle --------------------------------------------------------------------------------


def test_init_once_handles_cached_shutdown_on_close():
    nvml = replay("two_gpus")
    col = make(nvml)
    for _ in range(3):
        col.collect()
    assert nvml.calls["nvmlInit"] == 1
    assert nvml.calls["nvmlDeviceGetHandleByIndex"] == 2
    assert nvml.calls["nvmlDeviceGetUUID"] == 2
    assert nvml.calls["nvmlSystemGetDriverVersion"] == 1
    col.close()
    assert nvml.calls["nvmlShutdown"] == 1 and nvml.init_depth == 0
    col.close()  # idempotent
    assert nvml.calls["nvmlShutdown"] == 1


@pytest.mark.parametrize("fixture", ["no_devices", "init_failure"])
def test_no_gpu_reports_unavailable_only(fixture, caplog):
    caplog.set_level(logging.DEBUG, logger=LOG)
    clock = FakeClock()
    nvml = replay(fixture)
    col = make(nvml, clock)
    for _ in range(3):
        fams = col.collect()
        assert [(f.name, [s.value for s in f.samples]) for f in fams] == [("autobot_gpu_available", [0.0])]
        clock.advance(400)
    assert nvml.init_depth == 0  # no-device session was shut down again
    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(loud) == 1 and loud[0].levelno == logging.INFO


def test_init_retried_only_after_interval():
    clock = FakeClock()
    nvml = replay("init_failure")
    col = make(nvml, clock, init_retry_seconds=60)
    col.collect()
    clock.advance(30)
    col.collect()
    assert nvml.calls["nvmlInit"] == 1
    nvml.set_system("nvmlInit", None)  # driver loaded meanwhile
    nvml.devices.append(replay("two_gpus").devices[0])
    clock.advance(31)
    fams = col.collect()
    assert nvml.calls["nvmlInit"] == 2
    assert one(fams, "autobot_gpu_available") == 1
    assert one(fams, "autobot_gpu_temperature_celsius", gpu="0") == 54


def test_gpu_lost_mid_run_drops_that_device_only(caplog):
    caplog.set_level(logging.DEBUG, logger=LOG)
    nvml = replay("two_gpus")
    col = make(nvml)
    col.collect()
    nvml.lose_device(1)
    for _ in range(2):
        fams = col.collect()
        assert one(fams, "autobot_gpu_available") == 1
        assert names(fams, gpu="1") == set()  # no partial device, not even info
        assert one(fams, "autobot_gpu_temperature_celsius", **H200) == 54
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1
    nvml.restore_device(1)
    fams = col.collect()
    assert one(fams, "autobot_gpu_temperature_celsius", **RTX) == 41
    assert nvml.calls["nvmlDeviceGetHandleByIndex"] >= 3  # handle looked up again after the loss


def test_gpu_lost_in_the_middle_of_a_device_read_reports_nothing_for_it():
    nvml = replay("two_gpus")
    col = make(nvml)
    col.collect()
    nvml.set_answer(0, "nvmlDeviceGetClockInfo", {"error": "GpuIsLost"})
    fams = col.collect()
    assert names(fams, gpu="0") == set()
    assert "autobot_gpu_memory_used_bytes" in names(fams, gpu="1")


def test_handle_lookup_failure_means_device_missing():
    nvml = replay("two_gpus")
    nvml.set_answer(1, "nvmlDeviceGetHandleByIndex", {"error": "NoPermission"})
    fams = make(nvml).collect()
    assert names(fams, gpu="1") == set()
    assert one(fams, "autobot_gpu_available") == 1
    assert one(fams, "autobot_gpu_temperature_celsius", **H200) == 54


def test_all_gpus_lost_means_unavailable():
    nvml = replay("two_gpus")
    col = make(nvml)
    col.collect()
    nvml.lose_device(0)
    nvml.lose_device(1, "ResetRequired")
    assert [f.name for f in col.collect()] == ["autobot_gpu_available"]
    assert one(col.collect(), "autobot_gpu_available") == 0


def test_driver_level_error_restarts_nvml_session_next_cycle():
    nvml = replay("two_gpus")
    col = make(nvml)
    col.collect()
    nvml.lose_device(0, "DriverNotLoaded")
    fams = col.collect()
    assert [(f.name, f.samples[0].value) for f in fams] == [("autobot_gpu_available", 0.0)]
    assert nvml.init_depth == 0
    nvml.restore_device(0)
    fams = col.collect()
    assert nvml.calls["nvmlInit"] == 2
    assert one(fams, "autobot_gpu_available") == 1


# -- real machine -----------------------------------------------------------------------------


def test_real_machine_without_gpu_reports_zero_and_warns_at_most_once(caplog):
    caplog.set_level(logging.DEBUG, logger=LOG)
    clock = FakeClock()
    col = GpuCollector(CollectorContext(clock=clock))  # ctx.nvml None: the real pynvml
    try:
        for _ in range(2):
            fams = col.collect()
            if one(fams, "autobot_gpu_available") == 1:
                pytest.skip("this machine has a working NVIDIA GPU")
            assert [f.name for f in fams] == ["autobot_gpu_available"]
            clock.advance(1000)  # past the retry interval: init is tried again
    finally:
        col.close()
    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(loud) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# -- replay and recorder ----------------------------------------------------------------------


def test_replay_raises_real_pynvml_error_classes():
    nvml = replay("two_gpus")
    nvml.nvmlInit()
    h = nvml.nvmlDeviceGetHandleByIndex(0)
    with pytest.raises(pynvml.NVMLError_NotSupported):
        nvml.nvmlDeviceGetFanSpeed(h)
    nvml.lose_device(0)
    with pytest.raises(pynvml.NVMLError_GpuIsLost):
        nvml.nvmlDeviceGetName(h)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        nvml.nvmlDeviceGetHandleByIndex(5)
    nvml.nvmlShutdown()
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        nvml.nvmlDeviceGetCount()
    assert nvml.NVML_ERROR_NOT_SUPPORTED == pynvml.NVML_ERROR_NOT_SUPPORTED


def test_error_names_and_codes():
    assert error_code("NotSupported") == error_code("NVMLError_NotSupported") == 3
    assert error_code("NVML_ERROR_GPU_IS_LOST") == 15
    assert error_code(999) == 999
    with pytest.raises(ValueError):
        error_code("NoSuchError")


@pytest.mark.parametrize("fixture", ["two_gpus", "fan_not_supported", "no_devices", "init_failure"])
def test_recorder_round_trips_fixtures(fixture):
    original = json.loads((FIXTURES / f"{fixture}.json").read_text())
    got = record(NvmlReplay(original), comment=original.get("comment", ""))
    if fixture == "fan_not_supported":  # recorded errors are written by name
        original["devices"][0]["nvmlDeviceGetFanSpeed"] = {"error": "NotSupported"}
    assert got == original


def test_record_script_writes_a_loadable_recording(tmp_path: Path):
    spec = importlib.util.spec_from_file_location("record_nvml", REPO / "bench" / "record_nvml.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "rec.json"
    assert mod.main(["-o", str(out), "--comment", "test run", "--check"]) == 0
    nvml = NvmlReplay.load(str(out))
    fams = make(nvml).collect()
    if one(fams, "autobot_gpu_available") == 0:
        assert nvml.recording["nvmlInit"] is not None or nvml.recording.get("nvmlDeviceGetCount") == 0
    assert pynvml.nvmlInit  # the real module is untouched


def test_unknown_format_is_refused():
    with pytest.raises(ValueError):
        NvmlReplay({"format": "something-else/9"})
