"""Replay of a recorded NVML session, a drop-in for the ``pynvml`` module in tests.

:class:`NvmlReplay` exposes the ``pynvml`` names the GPU collector uses and answers them from a
JSON recording, raising *real* ``pynvml.NVMLError`` instances (``pynvml.NVMLError(3)`` is an
``NVMLError_NotSupported``), so the collector's ``except`` clauses are exactly those it runs with
the real library. :func:`record` produces such a recording from the real ``pynvml`` module (see
``bench/record_nvml.py``) or from a replay (round trip, used by the tests).

Recording format (JSON object, ``format`` = :data:`FORMAT`)::

    {
      "format": "autobot-nvml-recording/1",
      "comment": "free text, optional",
      "nvmlInit": null,                          # or an error answer: init failed
      "nvmlSystemGetDriverVersion": "550.127.05",
      "nvmlDeviceGetCount": 2,                   # optional, defaults to len(devices)
      "devices": [                               # index i answers for handle i
        {
          "nvmlDeviceGetHandleByIndex": null,    # optional; an error answer fails the lookup
          "nvmlDeviceGetName": "NVIDIA H200",
          "nvmlDeviceGetUUID": "GPU-...",
          "nvmlDeviceGetUtilizationRates": {"gpu": 87, "memory": 41},
          "nvmlDeviceGetMemoryInfo": {"total": 150754820096, "free": ..., "used": ...},
          "nvmlDeviceGetTemperature": {"NVML_TEMPERATURE_GPU": 54},
          "nvmlDeviceGetPowerUsage": 512345,                 # milliwatts
          "nvmlDeviceGetEnforcedPowerLimit": 700000,         # milliwatts
          "nvmlDeviceGetFanSpeed": {"error": "NotSupported"},
          "nvmlDeviceGetClockInfo": {"NVML_CLOCK_SM": 1980, "NVML_CLOCK_GRAPHICS": 1980,
                                     "NVML_CLOCK_MEM": 2619},  # MHz
          "nvmlDeviceGetCurrentClocksEventReasons": 1,       # bit mask
          "nvmlDeviceGetCurrentClocksThrottleReasons": 1
        }
      ]
    }

An *answer* is the plain value the function returns (structs as objects of their fields), or an
*error answer* ``{"error": NAME_OR_CODE}`` where the name is a ``pynvml.NVMLError_<Name>`` suffix
(``"NotSupported"``, ``"GpuIsLost"``; ``"NVML_ERROR_NOT_SUPPORTED"`` is accepted too) or the
integer NVML return code. Functions with a selector argument (temperature sensor, clock type)
hold an object keyed by the selector's ``pynvml`` constant name, or one error answer for all
selectors. A device function or selector that the recording lacks raises ``NotSupported``.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pynvml

FORMAT = "autobot-nvml-recording/1"

NVMLError = pynvml.NVMLError

# Per-device functions, in the order the recorder calls them.
DEVICE_FUNCTIONS: tuple[str, ...] = (
    "nvmlDeviceGetName",
    "nvmlDeviceGetUUID",
    "nvmlDeviceGetUtilizationRates",
    "nvmlDeviceGetMemoryInfo",
    "nvmlDeviceGetTemperature",
    "nvmlDeviceGetPowerUsage",
    "nvmlDeviceGetEnforcedPowerLimit",
    "nvmlDeviceGetFanSpeed",
    "nvmlDeviceGetClockInfo",
    "nvmlDeviceGetCurrentClocksEventReasons",
    "nvmlDeviceGetCurrentClocksThrottleReasons",
)

# Selector constants of the functions that take one, by pynvml name; the recorder records these.
SELECTORS: dict[str, dict[str, int]] = {
    "nvmlDeviceGetTemperature": {"NVML_TEMPERATURE_GPU": 0},
    "nvmlDeviceGetClockInfo": {"NVML_CLOCK_GRAPHICS": 0, "NVML_CLOCK_SM": 1, "NVML_CLOCK_MEM": 2},
}

# Struct results, recorded as objects of these fields.
STRUCT_FIELDS: dict[str, tuple[str, ...]] = {
    "nvmlDeviceGetUtilizationRates": ("gpu", "memory"),
    "nvmlDeviceGetMemoryInfo": ("total", "free", "used"),
}

_CODE_BY_NAME: dict[str, int] = {
    cls.__name__.removeprefix("NVMLError_"): code
    for code, cls in pynvml.NVMLError._valClassMapping.items()
}
_NAME_BY_CODE: dict[int, str] = {code: name for name, code in _CODE_BY_NAME.items()}


def error_code(value: str | int) -> int:
    """NVML return code for an error answer's value (``"NotSupported"``, ``"NVMLError_NotSupported"``,
    ``"NVML_ERROR_NOT_SUPPORTED"`` or ``3``). Raises ``ValueError`` for an unknown name."""
    if isinstance(value, bool):
        raise ValueError(f"bad NVML error {value!r}")
    if isinstance(value, int):
        return value
    name = str(value).removeprefix("NVMLError_")
    if name in _CODE_BY_NAME:
        return _CODE_BY_NAME[name]
    code = getattr(pynvml, name, None) if name.startswith("NVML_ERROR_") else None
    if isinstance(code, int):
        return code
    raise ValueError(f"unknown NVML error {value!r}")


def error_answer(exc: pynvml.NVMLError) -> dict[str, str | int]:
    """The recording form of ``exc``: ``{"error": "NotSupported"}``, or the code if unnamed."""
    code = int(getattr(exc, "value", pynvml.NVML_ERROR_UNKNOWN))
    return {"error": _NAME_BY_CODE.get(code, code)}


def is_error(answer: Any) -> bool:
    return isinstance(answer, dict) and set(answer) == {"error"}


class ReplayHandle:
    """Device handle returned by :meth:`NvmlReplay.nvmlDeviceGetHandleByIndex`."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index

    def __repr__(self) -> str:
        return f"ReplayHandle({self.index})"


class NvmlReplay:
    """Module-like object answering ``pynvml`` calls from a recording (see module docstring).

    Like the real library, device calls need ``nvmlInit`` first (else ``Uninitialized``) and
    ``nvmlInit``/``nvmlShutdown`` nest. ``calls`` counts every call by function name. Tests change
    answers between collections with :meth:`set_answer`, :meth:`set_system` and
    :meth:`lose_device`.
    """

    NVMLError = pynvml.NVMLError
    NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU
    NVML_CLOCK_GRAPHICS = pynvml.NVML_CLOCK_GRAPHICS
    NVML_CLOCK_SM = pynvml.NVML_CLOCK_SM
    NVML_CLOCK_MEM = pynvml.NVML_CLOCK_MEM

    def __init__(self, recording: dict[str, Any]):
        fmt = recording.get("format", FORMAT)
        if fmt != FORMAT:
            raise ValueError(f"unsupported NVML recording format {fmt!r} (want {FORMAT!r})")
        self.recording = copy.deepcopy(recording)
        self.devices: list[dict[str, Any]] = self.recording.setdefault("devices", [])
        self.calls: Counter[str] = Counter()
        self.init_depth = 0
        self._lost: dict[int, int] = {}

    @classmethod
    def load(cls, path: str) -> NvmlReplay:
        """Read a recording file (JSON)."""
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f))

    def __getattr__(self, name: str) -> Any:
        # Every other pynvml name (NVMLError_NotSupported, NVML_ERROR_GPU_IS_LOST, ...)
        if name.startswith(("NVMLError_", "NVML_")):
            return getattr(pynvml, name)
        raise AttributeError(name)

    # -- test controls ------------------------------------------------------------------------

    def set_answer(self, index: int, function: str, answer: Any) -> None:
        """Make device ``index`` answer ``function`` with ``answer`` (recording form)."""
        self.devices[index][function] = answer

    def set_system(self, function: str, answer: Any) -> None:
        """Set a system-level answer (``nvmlInit``, ``nvmlDeviceGetCount``, driver version)."""
        self.recording[function] = answer

    def lose_device(self, index: int, error: str | int = "GpuIsLost") -> None:
        """Every later call on device ``index`` (handle lookup included) raises ``error``."""
        self._lost[index] = error_code(error)

    def restore_device(self, index: int) -> None:
        self._lost.pop(index, None)

    # -- internals ----------------------------------------------------------------------------

    @staticmethod
    def _raise_if_error(answer: Any) -> Any:
        if is_error(answer):
            raise pynvml.NVMLError(error_code(answer["error"]))
        return answer

    def _need_init(self) -> None:
        if self.init_depth <= 0:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_UNINITIALIZED)

    def _device(self, handle: Any, function: str) -> dict[str, Any]:
        self.calls[function] += 1
        self._need_init()
        if not isinstance(handle, ReplayHandle) or not 0 <= handle.index < len(self.devices):
            raise pynvml.NVMLError(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        if handle.index in self._lost:
            raise pynvml.NVMLError(self._lost[handle.index])
        return self.devices[handle.index]

    def _answer(self, handle: Any, function: str) -> Any:
        dev = self._device(handle, function)
        if function not in dev:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return self._raise_if_error(dev[function])

    def _selected(self, handle: Any, function: str, selector: int) -> Any:
        answers = self._answer(handle, function)
        names = [n for n, v in SELECTORS[function].items() if v == selector]
        if not isinstance(answers, dict) or not names or names[0] not in answers:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return self._raise_if_error(answers[names[0]])

    def _struct(self, handle: Any, function: str) -> SimpleNamespace:
        answer = self._answer(handle, function)
        if not isinstance(answer, dict):
            raise pynvml.NVMLError(pynvml.NVML_ERROR_UNKNOWN)
        return SimpleNamespace(**{f: answer.get(f, 0) for f in STRUCT_FIELDS[function]})

    # -- pynvml surface -----------------------------------------------------------------------

    def nvmlInit(self) -> None:
        self.calls["nvmlInit"] += 1
        self._raise_if_error(self.recording.get("nvmlInit"))
        self.init_depth += 1

    def nvmlShutdown(self) -> None:
        self.calls["nvmlShutdown"] += 1
        self._need_init()
        self.init_depth -= 1

    def nvmlSystemGetDriverVersion(self) -> str:
        self.calls["nvmlSystemGetDriverVersion"] += 1
        self._need_init()
        answer = self.recording.get("nvmlSystemGetDriverVersion", {"error": "NotSupported"})
        return self._raise_if_error(answer)

    def nvmlDeviceGetCount(self) -> int:
        self.calls["nvmlDeviceGetCount"] += 1
        self._need_init()
        return self._raise_if_error(self.recording.get("nvmlDeviceGetCount", len(self.devices)))

    def nvmlDeviceGetHandleByIndex(self, index: int) -> ReplayHandle:
        handle = ReplayHandle(index)
        dev = self._device(handle, "nvmlDeviceGetHandleByIndex")
        self._raise_if_error(dev.get("nvmlDeviceGetHandleByIndex"))
        return handle

    def nvmlDeviceGetName(self, handle: Any) -> str:
        return self._answer(handle, "nvmlDeviceGetName")

    def nvmlDeviceGetUUID(self, handle: Any) -> str:
        return self._answer(handle, "nvmlDeviceGetUUID")

    def nvmlDeviceGetUtilizationRates(self, handle: Any) -> SimpleNamespace:
        return self._struct(handle, "nvmlDeviceGetUtilizationRates")

    def nvmlDeviceGetMemoryInfo(self, handle: Any, version: Any = None) -> SimpleNamespace:
        return self._struct(handle, "nvmlDeviceGetMemoryInfo")

    def nvmlDeviceGetTemperature(self, handle: Any, sensor: int) -> int:
        return self._selected(handle, "nvmlDeviceGetTemperature", sensor)

    def nvmlDeviceGetPowerUsage(self, handle: Any) -> int:
        return self._answer(handle, "nvmlDeviceGetPowerUsage")

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: Any) -> int:
        return self._answer(handle, "nvmlDeviceGetEnforcedPowerLimit")

    def nvmlDeviceGetFanSpeed(self, handle: Any) -> int:
        return self._answer(handle, "nvmlDeviceGetFanSpeed")

    def nvmlDeviceGetClockInfo(self, handle: Any, clock_type: int) -> int:
        return self._selected(handle, "nvmlDeviceGetClockInfo", clock_type)

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: Any) -> int:
        return self._answer(handle, "nvmlDeviceGetCurrentClocksEventReasons")

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, handle: Any) -> int:
        return self._answer(handle, "nvmlDeviceGetCurrentClocksThrottleReasons")


# -- recorder ---------------------------------------------------------------------------------


def _plain(function: str, value: Any) -> Any:
    if function in STRUCT_FIELDS:
        return {f: int(getattr(value, f)) for f in STRUCT_FIELDS[function]}
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _ask(lib: Any, function: str, *args: Any) -> Any:
    fn = getattr(lib, function, None)
    if fn is None:
        return {"error": "FunctionNotFound"}
    try:
        return _plain(function, fn(*args))
    except pynvml.NVMLError as e:
        return error_answer(e)


def record(lib: Any = pynvml, comment: str = "") -> dict[str, Any]:
    """Call every function :class:`NvmlReplay` answers on ``lib`` (``pynvml`` or a replay) and
    return the recording. Never raises for NVML errors: they are recorded as error answers.
    Calls ``nvmlInit`` and, if it succeeded, ``nvmlShutdown``."""
    out: dict[str, Any] = {"format": FORMAT}
    if comment:
        out["comment"] = comment
    init = _ask(lib, "nvmlInit")
    out["nvmlInit"] = init
    out["devices"] = []
    if is_error(init):
        return out
    try:
        out["nvmlSystemGetDriverVersion"] = _ask(lib, "nvmlSystemGetDriverVersion")
        count = _ask(lib, "nvmlDeviceGetCount")
        out["nvmlDeviceGetCount"] = count
        for i in range(0 if is_error(count) else int(count)):
            dev: dict[str, Any] = {}
            try:
                handle = lib.nvmlDeviceGetHandleByIndex(i)
            except pynvml.NVMLError as e:
                dev["nvmlDeviceGetHandleByIndex"] = error_answer(e)
                out["devices"].append(dev)
                continue
            for function in DEVICE_FUNCTIONS:
                if function in SELECTORS:
                    dev[function] = {name: _ask(lib, function, handle, getattr(lib, name, value))
                                     for name, value in SELECTORS[function].items()}
                else:
                    dev[function] = _ask(lib, function, handle)
            out["devices"].append(dev)
    finally:
        try:
            lib.nvmlShutdown()
        except pynvml.NVMLError:
            pass
    return out
