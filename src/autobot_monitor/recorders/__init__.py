"""Application recorders: let a service record its own performance metrics on a
prometheus_client registry it owns, and expose them for the hub to scrape.

::

    from autobot_monitor.recorders import Recorder, metrics_asgi_app
    rec = Recorder()
    app.mount("/metrics", metrics_asgi_app(rec))
    async with rec.time("search"):
        ...

See :mod:`.core` (timed operations, custom metrics), :mod:`.performance`
(``PerformanceMetricsRecorder``), :mod:`.guard` (label cardinality cap) and :mod:`.serve`.
"""

from .core import DEFAULT_BUCKETS, Recorder, Timer
from .guard import DEFAULT_MAX_LABEL_SETS, DROPPED_NAME, OVERFLOW, GuardedMetric
from .performance import MULTIMODAL_BUCKETS, PerformanceMetricsRecorder
from .serve import metrics_asgi_app, metrics_wsgi_app, start_http_server

__all__ = ["DEFAULT_BUCKETS", "DEFAULT_MAX_LABEL_SETS", "DROPPED_NAME", "MULTIMODAL_BUCKETS",
           "OVERFLOW", "GuardedMetric", "PerformanceMetricsRecorder", "Recorder", "Timer",
           "metrics_asgi_app", "metrics_wsgi_app", "recorder_metric_names", "start_http_server"]


def recorder_metric_names(namespace: str = "autobot") -> list[str]:
    """Exposition names of every family a :class:`PerformanceMetricsRecorder` in ``namespace``
    declares (histograms as ``_bucket``/``_count``/``_sum`` too), plus the dropped-label-set
    counter: what a config may refer to for an instrumented application."""
    out = {DROPPED_NAME}
    for name, kind in PerformanceMetricsRecorder(namespace=namespace).declared():
        out.add(name)
        if kind == "histogram":
            out.update(name + sfx for sfx in ("_bucket", "_count", "_sum"))
    return sorted(out)
