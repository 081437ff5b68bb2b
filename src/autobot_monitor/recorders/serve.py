"""Serving an application's ``/metrics`` in one line: thin wrappers over prometheus_client's own
ASGI app, WSGI app and HTTP server, taking a registry or a :class:`~.core.Recorder`.

::

    app.add_route("/metrics", metrics_asgi_app(rec))         # FastAPI / Starlette
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/metrics": metrics_wsgi_app(rec)})  # Flask
    server, thread = start_http_server(9464, registry=rec)   # any other process

The answer is Prometheus text format 0.0.4 (or OpenMetrics when the scraper asks for it), gzip
when accepted. The apps answer on any path they are mounted at. Prefer ``add_route``/``Route`` to
``mount`` in Starlette and FastAPI: a mount answers ``/metrics`` with a redirect to ``/metrics/``,
which the hub does not follow.
"""

from __future__ import annotations

import prometheus_client
from prometheus_client import CollectorRegistry
from prometheus_client.asgi import make_asgi_app
from prometheus_client.exposition import make_wsgi_app


def _registry(source) -> CollectorRegistry:
    reg = getattr(source, "registry", source)
    if not hasattr(reg, "collect"):
        raise TypeError(f"expected a CollectorRegistry or a Recorder, got {type(source).__name__}")
    return reg


class _ASGIMetrics:
    """prometheus_client's ASGI app as an object (not a function), so Starlette's ``Route``
    treats it as an ASGI app rather than as a request handler."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry
        self._app = make_asgi_app(registry)

    async def __call__(self, scope, receive, send) -> None:
        await self._app(scope, receive, send)


def metrics_asgi_app(registry):
    """An ASGI app serving ``registry`` (a ``CollectorRegistry`` or a Recorder): mount it with
    ``app.add_route("/metrics", ...)``, ``Route("/metrics", ...)`` or ``app.mount(...)``."""
    return _ASGIMetrics(_registry(registry))


def metrics_wsgi_app(registry):
    """A WSGI app serving ``registry`` (a ``CollectorRegistry`` or a Recorder)."""
    return make_wsgi_app(_registry(registry))


def start_http_server(port: int, addr: str = "127.0.0.1", *, registry):
    """Serve ``registry`` on ``http://addr:port/metrics`` from a daemon thread; returns
    prometheus_client's ``(server, thread)`` (``server.shutdown()`` stops it). Loopback by default:
    pass ``addr="0.0.0.0"`` deliberately to expose it. Raises ``OSError`` when the port is taken."""
    return prometheus_client.start_http_server(port, addr, _registry(registry))
