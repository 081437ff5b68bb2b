"""Fixture writes for the store tests: one ``write`` per head window, not one per timestamp."""

from collections import defaultdict

from autobot_monitor.store import Series, TieredStore


def write_windows(store: TieredStore, series: list[Series], window_s: float = 600) -> int:
    """Write the points of ``series`` in one batch per head window of ``window_s`` seconds
    (aligned to the epoch, as the store's), in time order: the store flushes each window into
    chunks when the next batch arrives, as it does with one write per cycle, but each window
    costs one fsynced WAL record instead of one per timestamp. Returns the samples accepted."""
    parts: dict[int, list[Series]] = defaultdict(list)
    for s in series:
        by_win: dict[int, list[tuple[float, float | None]]] = defaultdict(list)
        for t, v in s.points:
            by_win[int(t * 1000) // int(window_s * 1000)].append((t, v))
        for w, pts in by_win.items():
            parts[w].append(Series(s.name, s.labels, pts, s.type))
    return sum(store.write(parts[w]) for w in sorted(parts))
