"""NVIDIA GPU metrics through NVML (``nvidia-ml-py``, imported as ``pynvml``; never nvidia-smi).

The NVML entry points come from ``ctx.nvml`` when set (tests inject an
:class:`~.nvml_replay.NvmlReplay`) and from the real ``pynvml`` module otherwise; both take the
same code path and raise the same ``pynvml.NVMLError`` subclasses.

Lifecycle: ``nvmlInit`` once, on the first :meth:`GpuCollector.collect`; device handles, UUIDs,
names and the driver version are cached; :meth:`GpuCollector.close` calls ``nvmlShutdown``. When
init fails (no driver, no library: a normal machine) or NVML reports no device, the collector
emits ``autobot_gpu_available 0``, logs that once at info level and tries again every
``init_retry_seconds`` (collector option, default 300) of monotonic time.

Families (``gpu`` = NVML index, ``uuid`` = NVML UUID; names and driver only in the info family):

* ``autobot_gpu_available`` — 1 when NVML is up and at least one GPU answered this cycle, else 0.
* ``autobot_gpu_info{gpu,uuid,name,driver_version}`` — 1.
* ``autobot_gpu_utilization_percent``, ``autobot_gpu_memory_utilization_percent`` —
  ``nvmlDeviceGetUtilizationRates`` ``.gpu`` / ``.memory`` (busy share of the last sample period).
* ``autobot_gpu_memory_used_bytes``, ``autobot_gpu_memory_total_bytes`` — ``nvmlDeviceGetMemoryInfo``.
* ``autobot_gpu_temperature_celsius`` — ``nvmlDeviceGetTemperature(NVML_TEMPERATURE_GPU)``.
* ``autobot_gpu_power_watts`` / ``autobot_gpu_power_limit_watts`` — ``nvmlDeviceGetPowerUsage`` /
  ``nvmlDeviceGetEnforcedPowerLimit``, milliwatts / 1000.
* ``autobot_gpu_fan_speed_percent`` — ``nvmlDeviceGetFanSpeed``.
* ``autobot_gpu_clock_sm_hertz`` — ``nvmlDeviceGetClockInfo(NVML_CLOCK_SM)``, MHz * 1e6.
* ``autobot_gpu_throttle_reasons{gpu,uuid,reason}`` — 1/0 for each bit of :data:`THROTTLE_REASONS`
  in ``nvmlDeviceGetCurrentClocksEventReasons`` (drivers >= 535), falling back to the older
  ``nvmlDeviceGetCurrentClocksThrottleReasons`` when the library or driver lacks the new name.

A field that raises any ``NVMLError`` (``NotSupported`` on a fanless data-centre card, for
instance) is *absent* for that device, never 0; the other fields are still reported. A
device-level error (:data:`DEVICE_LOST_CODES`, e.g. ``GpuIsLost``) drops the whole device for
this cycle and its cached handle, which is looked up again next cycle; a library-level error
(:data:`LIBRARY_LOST_CODES`, e.g. the driver was unloaded) ends the NVML session, so the next
cycle re-initialises. Each loss and recovery is logged once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..model import MetricFamily, MetricSpec
from .base import Collector

log = logging.getLogger(__name__)

NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_RESET_REQUIRED = 16
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18
NVML_ERROR_GPU_NOT_FOUND = 28

DEVICE_LOST_CODES = frozenset({NVML_ERROR_GPU_IS_LOST, NVML_ERROR_RESET_REQUIRED,
                               NVML_ERROR_GPU_NOT_FOUND})
LIBRARY_LOST_CODES = frozenset({NVML_ERROR_UNINITIALIZED, NVML_ERROR_DRIVER_NOT_LOADED,
                                NVML_ERROR_LIB_RM_VERSION_MISMATCH})

# nvmlClocksEventReason* bits (nvml.h); the ThrottleReason names have the same values.
THROTTLE_REASONS: tuple[tuple[str, int], ...] = (
    ("gpu_idle", 0x1),
    ("applications_clocks_setting", 0x2),
    ("sw_power_cap", 0x4),
    ("hw_slowdown", 0x8),
    ("sync_boost", 0x10),
    ("sw_thermal_slowdown", 0x20),
    ("hw_thermal_slowdown", 0x40),
    ("hw_power_brake_slowdown", 0x80),
    ("display_clock_setting", 0x100),
)

_REASON_FUNCTIONS = ("nvmlDeviceGetCurrentClocksEventReasons",
                     "nvmlDeviceGetCurrentClocksThrottleReasons")

_V = ("gpu", "uuid")


class _DeviceLost(Exception):
    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


class GpuCollector(Collector):
    """Per-GPU utilisation, memory, temperature, power, fan, SM clock, throttle reasons."""

    name = "gpu"
    SPECS = (
        MetricSpec("autobot_gpu_available", "gauge",
                   "1 if NVML is initialised and at least one GPU answered this cycle, else 0."),
        MetricSpec("autobot_gpu_info", "info",
                   "GPU identity and driver version (value always 1).", "",
                   ("gpu", "uuid", "name", "driver_version")),
        MetricSpec("autobot_gpu_utilization_percent", "gauge",
                   "Percent of the last sample period during which a kernel ran on the GPU.",
                   "percent", _V),
        MetricSpec("autobot_gpu_memory_utilization_percent", "gauge",
                   "Percent of the last sample period during which device memory was read or written.",
                   "percent", _V),
        MetricSpec("autobot_gpu_memory_used_bytes", "gauge", "Device memory in use.", "bytes", _V),
        MetricSpec("autobot_gpu_memory_total_bytes", "gauge", "Device memory installed.", "bytes", _V),
        MetricSpec("autobot_gpu_temperature_celsius", "gauge", "GPU core temperature.", "celsius", _V),
        MetricSpec("autobot_gpu_power_watts", "gauge", "Board power draw.", "watts", _V),
        MetricSpec("autobot_gpu_power_limit_watts", "gauge", "Enforced board power limit.", "watts", _V),
        MetricSpec("autobot_gpu_fan_speed_percent", "gauge",
                   "Intended fan speed as percent of maximum.", "percent", _V),
        MetricSpec("autobot_gpu_clock_sm_hertz", "gauge", "Current SM clock.", "hertz", _V),
        MetricSpec("autobot_gpu_throttle_reasons", "gauge",
                   "1 if this clock event (throttle) reason is active, else 0.", "",
                   ("gpu", "uuid", "reason")),
    )

    def __init__(self, ctx):
        super().__init__(ctx)
        self._retry_s = float(self.options.get("init_retry_seconds", 300.0))
        self._lock = threading.Lock()
        self._lib: Any = None
        self._error_cls: type[BaseException] = Exception
        self._up = False  # nvmlInit succeeded and nvmlShutdown not yet called
        self._next_try = float("-inf")
        self._count = 0
        self._driver = ""
        self._handles: dict[int, Any] = {}
        self._identity: dict[int, tuple[str, str]] = {}
        self._reason_fn = 0  # index into _REASON_FUNCTIONS
        self._reported_down = False
        self._lost: set[int] = set()

    # -- lifecycle ----------------------------------------------------------------------------

    def _library(self) -> Any:
        if self._lib is None:
            lib = self.ctx.nvml
            if lib is None:
                try:
                    import pynvml as lib
                except ImportError:
                    return None
            self._lib = lib
            err = getattr(lib, "NVMLError", None)
            if err is None:
                import pynvml
                err = pynvml.NVMLError
            self._error_cls = err
        return self._lib

    def _down(self, why: object) -> None:
        if not self._reported_down:
            log.info("gpu: NVML unavailable (%s); autobot_gpu_available is 0, retrying every %gs",
                     why, self._retry_s)
            self._reported_down = True
        else:
            log.debug("gpu: NVML still unavailable (%s)", why)
        self._next_try = self.ctx.clock.monotonic() + self._retry_s

    def _ensure_up(self) -> bool:
        if self._up:
            return True
        if self.ctx.clock.monotonic() < self._next_try:
            return False
        lib = self._library()
        if lib is None:
            self._down("pynvml not importable")
            return False
        try:
            lib.nvmlInit()
        except Exception as e:  # NVMLError, or OSError/AttributeError from a broken install
            self._down(e)
            return False
        self._up = True
        try:
            count = int(lib.nvmlDeviceGetCount())
        except (self._error_cls, TypeError, ValueError) as e:
            self._shutdown()
            self._down(e)
            return False
        if count <= 0:
            self._shutdown()
            self._down("no GPU devices")
            return False
        try:
            self._driver = _text(lib.nvmlSystemGetDriverVersion())
        except self._error_cls:
            self._driver = ""
        self._count = count
        if self._reported_down:
            log.info("gpu: NVML up, %d device(s), driver %s", count, self._driver or "?")
        self._reported_down = False
        return True

    def _shutdown(self) -> None:
        if self._up:
            try:
                self._lib.nvmlShutdown()
            except self._error_cls as e:
                log.debug("gpu: nvmlShutdown: %s", e)
        self._up = False
        self._count = 0
        self._handles.clear()
        self._identity.clear()

    def close(self) -> None:
        with self._lock:
            self._shutdown()
            self._next_try = float("-inf")
        super().close()

    # -- collection ---------------------------------------------------------------------------

    def collect(self) -> list[MetricFamily]:
        with self._lock:
            return self._collect()

    def _collect(self) -> list[MetricFamily]:
        available = self.spec("autobot_gpu_available").family()
        if not self._ensure_up():
            available.add(0)
            return [available]
        fams = {s.name: s.family() for s in self.SPECS[1:]}
        answered = 0
        for index in range(self._count):
            try:
                rows = self._read_device(index)
            except _DeviceLost as e:
                if e.code in LIBRARY_LOST_CODES:
                    self._shutdown()
                    self._reported_down = False
                    self._down(f"NVML error {e.code} reading GPU {index}")
                    self._next_try = self.ctx.clock.monotonic()  # re-init on the next cycle
                    available.add(0)
                    return [available]
                self._handles.pop(index, None)
                self._identity.pop(index, None)
                if index not in self._lost:
                    log.warning("gpu: GPU %d not answering (NVML error %d); skipped until it does",
                                index, e.code)
                    self._lost.add(index)
                continue
            if index in self._lost:
                log.info("gpu: GPU %d answering again", index)
                self._lost.discard(index)
            answered += 1
            for name, value, labels in rows:
                fams[name].add(value, labels)
        available.add(1 if answered else 0)
        return [available] + [f for f in fams.values() if f.samples]

    def _call(self, fn_name: str, *args: Any) -> Any:
        """``lib.fn_name(*args)``; None for a field-level NVML error or a missing function;
        raises :class:`_DeviceLost` for device- and library-level errors."""
        fn = getattr(self._lib, fn_name, None)
        if fn is None:
            return None
        try:
            return fn(*args)
        except self._error_cls as e:
            code = int(getattr(e, "value", 0) or 0)
            if code in DEVICE_LOST_CODES or code in LIBRARY_LOST_CODES:
                raise _DeviceLost(code) from e
            return None

    def _handle(self, index: int) -> Any:
        handle = self._handles.get(index)
        if handle is None:
            try:
                handle = self._lib.nvmlDeviceGetHandleByIndex(index)
            except self._error_cls as e:
                # Any failure to get a handle (lost, no permission...) means "device missing".
                raise _DeviceLost(int(getattr(e, "value", 0) or 0)) from e
            self._handles[index] = handle
        return handle

    def _read_device(self, index: int) -> list[tuple[str, float, dict[str, str]]]:
        """All samples of one device, or :class:`_DeviceLost` (then none are reported)."""
        lib = self._lib
        h = self._handle(index)
        ident = self._identity.get(index)
        if ident is None:
            uuid = self._call("nvmlDeviceGetUUID", h)
            name = self._call("nvmlDeviceGetName", h)
            ident = (_text(uuid), _text(name))
            if uuid is not None and name is not None:
                self._identity[index] = ident
        uuid, name = ident
        labels = {"gpu": str(index), "uuid": uuid}
        rows: list[tuple[str, float, dict[str, str]]] = [
            ("autobot_gpu_info", 1.0, {**labels, "name": name, "driver_version": self._driver})]

        def put(family: str, value: Any, mul: float = 1.0, div: float = 1.0) -> None:
            v = _num(value)
            if v is not None:
                rows.append((family, v * mul / div, labels))

        util = self._call("nvmlDeviceGetUtilizationRates", h)
        if util is not None:
            put("autobot_gpu_utilization_percent", getattr(util, "gpu", None))
            put("autobot_gpu_memory_utilization_percent", getattr(util, "memory", None))
        mem = self._call("nvmlDeviceGetMemoryInfo", h)
        if mem is not None:
            put("autobot_gpu_memory_used_bytes", getattr(mem, "used", None))
            put("autobot_gpu_memory_total_bytes", getattr(mem, "total", None))
        put("autobot_gpu_temperature_celsius",
            self._call("nvmlDeviceGetTemperature", h, getattr(lib, "NVML_TEMPERATURE_GPU", 0)))
        put("autobot_gpu_power_watts", self._call("nvmlDeviceGetPowerUsage", h), div=1000.0)
        put("autobot_gpu_power_limit_watts", self._call("nvmlDeviceGetEnforcedPowerLimit", h),
            div=1000.0)
        put("autobot_gpu_fan_speed_percent", self._call("nvmlDeviceGetFanSpeed", h))
        put("autobot_gpu_clock_sm_hertz",
            self._call("nvmlDeviceGetClockInfo", h, getattr(lib, "NVML_CLOCK_SM", 1)), mul=1e6)
        mask = _num(self._reasons(h))
        if mask is not None:
            bits = int(mask)
            for reason, bit in THROTTLE_REASONS:
                rows.append(("autobot_gpu_throttle_reasons", 1.0 if bits & bit else 0.0,
                             {**labels, "reason": reason}))
        return rows

    def _reasons(self, h: Any) -> Any:
        """Clock event reason mask via the newest function name the library and driver have."""
        while self._reason_fn < len(_REASON_FUNCTIONS):
            fn_name = _REASON_FUNCTIONS[self._reason_fn]
            fn = getattr(self._lib, fn_name, None)
            if fn is not None:
                try:
                    return fn(h)
                except self._error_cls as e:
                    code = int(getattr(e, "value", 0) or 0)
                    if code in DEVICE_LOST_CODES or code in LIBRARY_LOST_CODES:
                        raise _DeviceLost(code) from e
                    if code != NVML_ERROR_FUNCTION_NOT_FOUND:
                        return None
            self._reason_fn += 1
        return None
