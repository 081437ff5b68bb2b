"""The store keeps each family's type, unit and help (histograms and info included) across a
restart, and stores a histogram's buckets as counters (rate over them works)."""


from storesupport import crash_copy

from autobot_monitor.model import MetricSpec
from autobot_monitor.store import Series, TieredStore

T0 = 1_700_000_000.0


def _rows(t: float, n: float) -> list[Series]:
    hist = MetricSpec("op_seconds", "histogram", "Ops.", "seconds", ("op",)).family()
    hist.add_histogram([(0.1, n), (1, 2 * n)], 0.5 * n, 2 * n, {"op": "x"})
    info = MetricSpec("build_info", "info", "Build.", "", ("version",)).family()
    info.add(1, {"version": "1"})
    return [Series(s.name, dict(s.labels), [(t, s.value)], f.type, f.unit, f.help)
            for f in (hist, info) for s in f.samples]


def test_metadata_survives_a_restart_and_answers_for_sample_names(tmp_path):
    path = str(tmp_path / "m.db")
    st = TieredStore(path)
    st.write(_rows(T0, 1))
    want = {"type": "histogram", "unit": "seconds", "help": "Ops."}
    assert st.metadata("op_seconds_bucket")["op_seconds"].to_json() == want
    st.close()
    st = TieredStore(path)
    try:
        meta = {k: m.to_json() for k, m in st.metadata().items()}
        assert meta == {"build_info": {"type": "info", "unit": "", "help": "Build."},
                        "op_seconds": want}
        assert list(st.metadata("op_seconds_count")) == ["op_seconds"]
        assert st.metadata("nothing") == {}
        assert {t for n, _, t in st.series() if n.startswith("op_seconds")} == {"counter"}
    finally:
        st.close()


def test_metadata_in_the_head_only_survives_a_crash(tmp_path):
    path = str(tmp_path / "m.db")
    st = TieredStore(path)
    st.write(_rows(T0, 1))
    crashed = crash_copy(tmp_path / "m.db")
    st.close()
    st = TieredStore(str(crashed))
    try:
        st.write(_rows(T0 + 10, 3))  # the next cycle writes the metadata again
        assert st.metadata("op_seconds")["op_seconds"].type == "histogram"
        res = st.query("op_seconds_bucket", {"le": "+Inf"}, T0, T0 + 10, 10, "rate")
        assert [v for _, v in res.series[0].points if v is not None] == [0.4]
    finally:
        st.close()
