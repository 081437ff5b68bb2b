"""The benchmark suite (``autobot-monitor benchmark``): API, Redis, network and system figures,
scored 0-100 against the spec's baselines, graded, saved and compared with earlier runs.

Modules: :mod:`.stats` (percentiles), :mod:`.api`, :mod:`.database`, :mod:`.network`,
:mod:`.system`, :mod:`.native` (wrk / redis-benchmark / fio), :mod:`.scoring`, :mod:`.suite`
(runs and scores), :mod:`.history`, :mod:`.report`, :mod:`.command` (the CLI subcommand).
"""
