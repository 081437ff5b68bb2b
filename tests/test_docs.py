"""Generated docs stay in step with the code."""

import subprocess
import sys


def test_metrics_doc_is_current():
    r = subprocess.run([sys.executable, "scripts/gen_metrics_doc.py", "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_every_declared_name_is_unique_per_source():
    from autobot_monitor.catalog import all_specs

    seen: dict[str, str] = {}
    for source, specs in all_specs():
        for s in specs:
            assert s.name not in seen, f"{s.name} declared by {seen.get(s.name)} and {source}"
            seen[s.name] = source


def test_node_exporter_differences_are_linked_from_metrics_doc():
    from pathlib import Path

    docs = Path(__file__).resolve().parent.parent / "docs"
    assert "(NODE_EXPORTER_DIFFERENCES.md)" in (docs / "METRICS.md").read_text()
    assert (docs / "NODE_EXPORTER_DIFFERENCES.md").read_text().startswith("# Deliberate differences")


def test_readme_lists_every_collector_with_its_default_interval():
    """README "Collectors": one row per registered collector, its interval column the class's
    ``default_interval`` ("cycle" for None)."""
    import re
    from pathlib import Path

    from autobot_monitor.collectors import REGISTRY, collector_class

    text = Path(__file__).resolve().parents[1].joinpath("README.md").read_text()
    section = text.split("### Collectors", 1)[1].split("\n## ", 1)[0]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)` \|.*\| ([^|]+) \|$",
                                                       section, re.M)}
    assert set(rows) == set(REGISTRY)
    for name in REGISTRY:
        interval = collector_class(name).default_interval
        want = "cycle" if interval is None else f"{interval:g} s"
        assert rows[name].strip() == want, name
