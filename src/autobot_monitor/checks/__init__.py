"""Service checks: HTTP, TCP and Redis services probed concurrently each cycle.

Modules: :mod:`.runner` (:class:`~.runner.ServiceChecker` runs the configured checks), :mod:`.base`
(:class:`~.base.ServiceResult`, one outcome; the check contract), :mod:`.metrics` (the families the
checks may emit, ``ALL_SPECS``), one module per check type (:mod:`.http`, :mod:`.tcp`,
:mod:`.redis`). Secrets are masked by :mod:`autobot_monitor.secret_registry`. This package module
imports nothing, so that reading :mod:`.metrics` loads no check code.
"""
