"""textfile collector: real *.prom files, malformed, huge, clashing and replaced ones."""

from __future__ import annotations

import os
import threading

from autobot_monitor.collectors.base import CollectorContext
from autobot_monitor.collectors.textfile import TextfileCollector
from autobot_monitor.exposition import parse, render

GOOD = """# HELP backup_last_success_timestamp_seconds Last good backup.
# TYPE backup_last_success_timestamp_seconds gauge
backup_last_success_timestamp_seconds{job="db"} 1.7e9
backup_last_success_timestamp_seconds{job="www",site="a"} 1.6e9
# TYPE backup_runs_total counter
backup_runs_total 12
# TYPE backup_seconds histogram
backup_seconds_bucket{job="db",le="10"} 1
backup_seconds_bucket{job="db",le="+Inf"} 2
backup_seconds_sum{job="db"} 25
backup_seconds_count{job="db"} 2
"""


def _collector(directory, **opts):
    return TextfileCollector(CollectorContext(options={"textfile": {"directory": str(directory),
                                                                    **opts}}))


def _by_name(fams):
    return {f.name: f for f in fams}


def _values(fams, name):
    return {s.labels: s.value for f in fams if f.name == name for s in f.samples}


def test_families_mtime_and_no_error(tmp_path):
    (tmp_path / "backup.prom").write_text(GOOD)
    os.utime(tmp_path / "backup.prom", (1_700_000_000.7, 1_700_000_000.7))
    (tmp_path / "notes.txt").write_text("not a metric\n")
    fams = _collector(tmp_path).collect()
    by = _by_name(fams)
    assert by["backup_runs_total"].type == "counter"
    assert by["backup_runs_total"].help == f"Metric read from {tmp_path}/backup.prom"
    assert by["backup_last_success_timestamp_seconds"].help == "Last good backup."
    # a label some samples lack is filled with "" on the others, as node_exporter does
    assert _values(fams, "backup_last_success_timestamp_seconds") == {
        (("job", "db"), ("site", "")): 1.7e9, (("job", "www"), ("site", "a")): 1.6e9}
    assert _values(fams, "node_textfile_mtime_seconds") == {
        (("file", f"{tmp_path}/backup.prom"),): 1_700_000_000.0}
    assert _values(fams, "node_textfile_scrape_error") == {(): 0}
    hist = {(s.name, s.labels): s.value for s in by["backup_seconds"].samples}
    assert hist == {  # no "le" filled into the sum and count
        ("backup_seconds_bucket", (("job", "db"), ("le", "10.0"))): 1,
        ("backup_seconds_bucket", (("job", "db"), ("le", "+Inf"))): 2,
        ("backup_seconds_sum", (("job", "db"),)): 25, ("backup_seconds_count", (("job", "db"),)): 2}
    assert parse(render(fams).decode())  # what we deliver renders and parses back


def test_bad_files_are_skipped_and_reported_others_delivered(tmp_path, caplog):
    (tmp_path / "a_good.prom").write_text(GOOD)
    (tmp_path / "b_malformed.prom").write_text("this is { not exposition\n")
    (tmp_path / "c_timestamps.prom").write_text("ts_metric 1 1700000000000\n")
    (tmp_path / "d_clash.prom").write_text("node_load1 42\nfine_too 1\n")
    (tmp_path / "e_ours.prom").write_text("autobot_anything 1\n")
    (tmp_path / "f_dup.prom").write_text('backup_runs_total 3\n')
    # the same series as a_good's (an empty label is no label): a duplicate
    (tmp_path / "g_same_series.prom").write_text(
        'backup_last_success_timestamp_seconds{job="db"} 5\n')
    (tmp_path / "h_binary.prom").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "i_dir.prom").mkdir()
    (tmp_path / "j_counter_without_total.prom").write_text("# TYPE jobs counter\njobs 3\n")
    (tmp_path / "k_good.prom").write_text("other_metric 5\n")
    (tmp_path / "l_dynamic.prom").write_text("node_memory_Made_Up_bytes 5\n")  # memory's prefix
    fams = _collector(tmp_path).collect()
    names = {f.name for f in fams}
    assert {"backup_runs_total", "other_metric"} <= names
    assert not names & {"ts_metric", "fine_too", "autobot_anything", "node_load1", "jobs"}
    assert _values(fams, "backup_runs_total") == {(): 12}  # the other-type file lost, not merged
    assert len(_values(fams, "backup_last_success_timestamp_seconds")) == 2
    files = {dict(k)["file"].rsplit("/", 1)[1] for k in _values(fams, "node_textfile_mtime_seconds")}
    assert files == {"a_good.prom", "k_good.prom"}
    assert _values(fams, "node_textfile_scrape_error") == {(): 1}
    reasons = {r.getMessage().split(" skipped: ")[0].rsplit("/", 1)[1]:
               r.getMessage().split(" skipped: ")[1] for r in caplog.records}
    assert reasons["b_malformed.prom"].startswith("malformed")
    assert "timestamps" in reasons["c_timestamps.prom"]
    assert "node_load1 clashes" in reasons["d_clash.prom"]
    assert "autobot_anything clashes" in reasons["e_ours.prom"]
    assert "gauge here, counter" in reasons["f_dup.prom"]
    assert "duplicate series" in reasons["g_same_series.prom"]
    assert "UTF-8" in reasons["h_binary.prom"]
    assert "not a regular file" in reasons["i_dir.prom"]
    assert "jobs_total" in reasons["j_counter_without_total.prom"]
    assert "clashes" in reasons["l_dynamic.prom"]


def test_huge_file_and_too_many_files_are_bounded(tmp_path):
    (tmp_path / "big.prom").write_text("x 1\n" * 5000)  # 20 000 bytes
    (tmp_path / "many.prom").write_text("".join(f"m{{i=\"{i}\"}} 1\n" for i in range(50)))
    fams = _collector(tmp_path, max_file_bytes=10_000, max_samples=20).collect()
    assert {f.name for f in fams} == {"node_textfile_scrape_error"}
    assert _values(fams, "node_textfile_scrape_error") == {(): 1}
    for i in range(5):
        (tmp_path / f"n{i}.prom").write_text(f"n{i} 1\n")
    (tmp_path / "big.prom").unlink()
    (tmp_path / "many.prom").unlink()
    fams = _collector(tmp_path, max_files=3).collect()
    assert {f.name for f in fams} == {"n0", "n1", "n2", "node_textfile_mtime_seconds",
                                      "node_textfile_scrape_error"}
    assert _values(fams, "node_textfile_scrape_error") == {(): 1}


def test_same_family_across_files_merges(tmp_path):
    (tmp_path / "a.prom").write_text('# HELP jobs_running Running.\njobs_running{q="a"} 1\n')
    (tmp_path / "b.prom").write_text('jobs_running{q="b"} 2\n')
    fams = _collector(tmp_path).collect()
    assert _values(fams, "jobs_running") == {(("q", "a"),): 1, (("q", "b"),): 2}
    assert _values(fams, "node_textfile_scrape_error") == {(): 0}


def test_missing_directory_and_no_directory(tmp_path):
    fams = _collector(tmp_path / "nope").collect()
    assert _values(fams, "node_textfile_scrape_error") == {(): 1}
    fams = TextfileCollector(CollectorContext()).collect()
    assert [(f.name, f.samples[0].value) for f in fams] == [("node_textfile_scrape_error", 0)]


def test_glob_directory(tmp_path):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / f"{d}.prom").write_text(f"from_{d} 1\n")
    names = {f.name for f in _collector(tmp_path / "*").collect()}
    assert {"from_a", "from_b"} <= names


def test_file_replaced_by_rename_while_collecting_is_read_whole(tmp_path):
    """A writer renames fresh files over metrics.prom as fast as it can while we collect: every
    cycle delivers one complete version, never a mix or a partial file."""
    target = tmp_path / "metrics.prom"
    body = lambda n: "".join(f'gen{{n="{n}",i="{i}"}} {n}\n' for i in range(200))  # noqa: E731
    target.write_text(body(0))
    stop = threading.Event()
    written = [0]

    def writer():
        n = 0
        while not stop.is_set() and n < 100_000:
            n += 1
            tmp = tmp_path / f".metrics.prom.{n}"
            tmp.write_text(body(n))
            os.replace(tmp, target)
            written[0] = n

    t = threading.Thread(target=writer)
    t.start()
    c = _collector(tmp_path)
    seen = set()
    try:
        while len(seen) < 5 and written[0] < 100_000:
            fams = c.collect()
            assert _values(fams, "node_textfile_scrape_error") == {(): 0}
            gens = {v for v in _values(fams, "gen").values()}
            assert len(gens) == 1 and len(_values(fams, "gen")) == 200
            seen |= gens
    finally:
        stop.set()
        t.join()
    assert len(seen) >= 2  # versions changed under us, each one read whole


def test_hub_config_option_reaches_the_collector(tmp_path):
    from autobot_monitor.clock import FakeClock
    from autobot_monitor.config.models import MonitorConfig
    from autobot_monitor.hub.inventory import local_runner

    (tmp_path / "x.prom").write_text("hub_side 1\n")
    cfg = MonitorConfig.model_validate({"collectors": {
        "enabled": ["textfile"], "textfile": {"directory": str(tmp_path), "max_files": 5}}})
    runner = local_runner(cfg, FakeClock())
    try:
        [c] = runner.collectors
        assert (c.directory, c.max_files) == (str(tmp_path), 5)
        assert "hub_side" in {f.name for f in c.collect()}
    finally:
        runner.close()


def test_a_fifo_a_secret_behind_a_symlink_and_scraper_names_are_refused(tmp_path, caplog):
    """A FIFO named *.prom would block open() until a writer came (the collector, then the
    process's shutdown, with it); a symlink to a file the agent may read but its writer may not
    must not leak that file into the log; ``up``/``scrape_*`` are the scraper's own series (a
    textfile ``up 0`` would read as a target down)."""
    d = tmp_path / "textfile"
    d.mkdir()
    os.mkfifo(d / "a_fifo.prom")
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$s3cr3t-hash:20228:0:99999:7:::\n")
    (d / "b_link.prom").symlink_to(secret)
    (d / "c_up.prom").write_text("up 0\n")
    (d / "d_scrape.prom").write_text("scrape_duration_seconds 9\n")
    (d / "e_good.prom").write_text("good_metric 1\n")
    (d / "f_alerts.prom").write_text('ALERTS{alertname="Fake",alertstate="firing"} 1\n')
    (d / "sub").mkdir()
    (d / "sub" / "inner.txt").write_text("inner_metric 2\n")
    (d / "g_inside.prom").symlink_to(d / "sub" / "inner.txt")  # a link within: read
    fams = _collector(d).collect()  # returns: nothing waits for a writer on the FIFO
    names = {f.name for f in fams}
    assert {"good_metric", "inner_metric"} <= names
    assert not names & {"up", "scrape_duration_seconds", "ALERTS"}
    assert _values(fams, "node_textfile_scrape_error") == {(): 1}
    text = caplog.text
    assert "s3cr3t" not in text and "root:" not in text
    reasons = {r.getMessage().split(" skipped: ")[0].rsplit("/", 1)[1]:
               r.getMessage().split(" skipped: ")[1] for r in caplog.records}
    assert reasons["a_fifo.prom"] == "not a regular file"
    assert reasons["b_link.prom"] == "a symlink out of the textfile directory"
    assert "up clashes" in reasons["c_up.prom"]
    assert "scrape_duration_seconds clashes" in reasons["d_scrape.prom"]
