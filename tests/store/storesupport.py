"""Fixture writes for the store tests: one ``write`` per head window, not one per timestamp."""

import shutil
from collections import defaultdict
from pathlib import Path

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


def crash_copy(path: Path) -> Path:
    """Copy the files of the open store at ``path`` (not its lock) into ``crashed/`` beside it,
    as kill -9 leaves them: no flush, the WAL holds the head. Returns the copy's database path."""
    crashed = path.parent / "crashed"
    crashed.mkdir()
    for f in path.parent.glob(path.name + "*"):
        if not f.name.endswith(".lock"):
            shutil.copy(f, crashed / f.name)
    return crashed / path.name
