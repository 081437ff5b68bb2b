"""Build the store a ``storage:`` config section asks for."""

from __future__ import annotations

import os
from typing import Any

from .base import Store
from .engine import TieredStore, default_tiers


def resolve_path(storage: Any, data_dir: str) -> str:
    """``storage.path`` made absolute against ``data_dir``."""
    return storage.path if os.path.isabs(storage.path) else os.path.join(data_dir, storage.path)


def open_store(storage: Any, data_dir: str) -> Store:
    """``storage`` is a :class:`~..config.models.StorageConfig`. Returns the embedded
    :class:`TieredStore`, or a :class:`~.prometheus.PrometheusStore` for ``backend: prometheus``;
    either wrapped in a :class:`~.redis_mirror.MirroredStore` when ``storage.redis`` is set.
    Raises StoreError when the store cannot be opened (or is held by another process)."""
    if storage.backend == "prometheus":
        from .prometheus import PrometheusStore

        store: Store = PrometheusStore(storage.prometheus_url)
    else:
        tiers = default_tiers(storage.retention_days, storage.rollup_1m_retention_days,
                              storage.rollup_1h_retention_days,
                              (storage.raw_max_bytes, storage.rollup_1m_max_bytes,
                               storage.rollup_1h_max_bytes))
        store = TieredStore(resolve_path(storage, data_dir), tiers,
                            max_disk_bytes=storage.max_disk_bytes)
    if storage.redis is not None:
        from .redis_mirror import MirroredStore

        store = MirroredStore(store, storage.redis)
    return store
