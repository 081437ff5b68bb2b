"""Performance reports over a period: availability, trends, capacity, bottlenecks,
alerts and actions, benchmarks; as HTML (jinja2, autoescaped, charts embedded), JSON or PDF.

``autobot-monitor report`` (:mod:`.command`) builds one from a stopped hub's store or a running
hub's API; the hub builds them on a schedule (:mod:`.schedule`) and serves them at
``/api/reports`` (:mod:`..web.reports_routes`). The document is built in :mod:`.build`.
"""
