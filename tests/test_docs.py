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
