"""``PerformanceMetricsRecorder``: the spec successor's domain recorder for AI workloads.

The legacy system's dashboards read GPU/NPU inference counts, multimodal processing times and
performance/health scores that nothing ever recorded. This recorder gives services the calls to
record them, with the successor's names (``autobot`` namespace by default):

===============================================  =========  =======================================
family                                           type       labels, unit
===============================================  =========  =======================================
``autobot_gpu_inference_total``                  counter    ``model_type``
``autobot_npu_inference_total``                  counter    ``model_type``
``autobot_inference_duration_seconds``           histogram  ``device`` (gpu/npu), ``model_type``; s
``autobot_multimodal_processing_seconds``        histogram  ``modality``; seconds
``autobot_performance_score``                    gauge      ``component``; 0-100
``autobot_health_score``                         gauge      ``component``; 0-100
``autobot_performance_alerts_total``             counter    ``severity``, ``category``
===============================================  =========  =======================================

plus everything :class:`~.core.Recorder` has (timed operations, outcomes, in-flight gauge).
``autobot_performance_alerts_total`` has the labels of the hub's own counter of that name, so a
dashboard or rule reads both alike (the hub's stored copy also carries ``job``/``instance``).
"""

from __future__ import annotations

import math
import time

from ..severity import SEVERITY_VALUES
from .core import Recorder

MULTIMODAL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
"""Upper bounds in seconds for multimodal processing (image/audio/video work runs longer than a
request): 10 ms to 2 min."""

DEVICES = ("gpu", "npu")


class PerformanceMetricsRecorder(Recorder):
    """GPU/NPU inference, multimodal processing, scores and alerts of one application. Arguments
    as :class:`~.core.Recorder`. Raises :class:`~autobot_monitor.errors.MetricNameError` when the
    registry already holds these families."""

    def __init__(self, registry=None, namespace: str = "autobot", **kw):
        super().__init__(registry, namespace, **kw)
        self.gpu_inferences = self.counter(
            "gpu_inference_total", "Inferences run on a GPU, per model type.", ["model_type"])
        self.npu_inferences = self.counter(
            "npu_inference_total", "Inferences run on an NPU, per model type.", ["model_type"])
        self.inference_durations = self.histogram(
            "inference_duration_seconds", "Wall time of one inference, per device and model type.",
            ["device", "model_type"], unit="seconds")
        self.multimodal = self.histogram(
            "multimodal_processing_seconds", "Wall time of processing one multimodal input, per "
            "modality (text, image, audio, video...).", ["modality"], unit="seconds",
            buckets=MULTIMODAL_BUCKETS)
        self.performance_score = self.gauge(
            "performance_score", "Performance score reported by the application, 0 (worst) to 100.",
            ["component"])
        self.health_score = self.gauge(
            "health_score", "Health score reported by the application, 0 (worst) to 100.",
            ["component"])
        self.alerts = self.counter(
            "performance_alerts_total", "Performance alerts the application raised.",
            ["severity", "category"])

    def record_inference(self, device: str, model_type: str,
                         duration_seconds: float | None = None) -> None:
        """Count one inference on ``device`` (``"gpu"`` or ``"npu"``) for ``model_type``; with
        ``duration_seconds`` (wall time, seconds, >= 0) also observe it. Raises ``ValueError``
        for another device or a negative/non-finite duration."""
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
        if duration_seconds is not None and not (math.isfinite(duration_seconds)
                                                 and duration_seconds >= 0):
            raise ValueError(f"duration_seconds must be finite and >= 0, got {duration_seconds!r}")
        (self.gpu_inferences if device == "gpu" else self.npu_inferences).labels(model_type).inc()
        if duration_seconds is not None:
            self.inference_durations.labels(device, model_type).observe(duration_seconds)

    def record_multimodal(self, modality: str, seconds: float) -> None:
        """Observe one multimodal processing of ``seconds`` (wall time, >= 0) for ``modality``.
        Raises ``ValueError`` for a negative or non-finite time."""
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"seconds must be finite and >= 0, got {seconds!r}")
        self.multimodal.labels(modality).observe(seconds)

    def time_multimodal(self, modality: str) -> _Stopwatch:
        """``with``/``async with`` context timing one multimodal processing of ``modality``
        (recorded on exit, also when the block raises)."""
        return _Stopwatch(lambda s: self.record_multimodal(modality, s))

    def time_inference(self, device: str, model_type: str) -> _Stopwatch:
        """``with``/``async with`` context timing and counting one inference."""
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
        return _Stopwatch(lambda s: self.record_inference(device, model_type, s))

    def set_performance_score(self, component: str, score: float) -> None:
        """Set ``component``'s performance score (0-100). Raises ``ValueError`` out of range."""
        self.performance_score.labels(component).set(_score(score))

    def set_health_score(self, component: str, score: float) -> None:
        """Set ``component``'s health score (0-100). Raises ``ValueError`` out of range."""
        self.health_score.labels(component).set(_score(score))

    def record_alert(self, severity: str, category: str) -> None:
        """Count one performance alert of ``severity`` (critical/high/medium/low) in
        ``category`` (cpu, memory, gpu, latency...). Raises ``ValueError`` for another
        severity."""
        if severity not in SEVERITY_VALUES:
            raise ValueError(f"severity must be one of {SEVERITY_VALUES}, got {severity!r}")
        self.alerts.labels(severity, category).inc()


def _score(v: float) -> float:
    if not (math.isfinite(v) and 0 <= v <= 100):
        raise ValueError(f"a score is between 0 and 100, got {v!r}")
    return float(v)


class _Stopwatch:
    """Measures the wall time of a ``with``/``async with`` block and hands it to ``done``."""

    __slots__ = ("_done", "_t0")

    def __init__(self, done):
        self._done = done
        self._t0 = 0.0

    def __enter__(self) -> _Stopwatch:
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> bool:
        self._done(time.perf_counter() - self._t0)
        return False

    async def __aenter__(self) -> _Stopwatch:
        return self.__enter__()

    async def __aexit__(self, *exc) -> bool:
        return self.__exit__(*exc)
